"""DynamoDB stream handlers: record what arrived; fail on items whose pk starts with "poison"."""

import json
import os
import time
import uuid
from pathlib import Path


def _trace(event, outcome):
    entry = {"at": time.time(), "outcome": outcome, "event": event}
    (Path(os.environ["TRACE_DIR"]) / f"{time.time_ns()}-{uuid.uuid4().hex[:6]}.json").write_text(json.dumps(entry))


def _poisoned(record):
    return record["dynamodb"]["Keys"]["pk"]["S"].startswith("poison")


def fail_on_poison(event, context):
    if any(_poisoned(r) for r in event["Records"]):
        _trace(event, "error")
        raise ValueError("poison record in batch")
    _trace(event, "ok")


def report_poison(event, context):
    failures = [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"] if _poisoned(r)]
    _trace(event, "partial" if failures else "ok")
    return {"batchItemFailures": failures}
