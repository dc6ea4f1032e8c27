"""Handlers of the conformance templates: each records what it was given, then behaves as the case needs.

Every invocation writes {"at", "function", "event"} to TRACE_DIR/<function>/, so a test reads
exactly what Lambda's event source delivered, in the order it was delivered.
"""

import json
import os
import time
import uuid
from pathlib import Path


def _trace(event, context):
    folder = Path(os.environ["TRACE_DIR"]) / context.function_name
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"at": time.time(), "event": event}
    (folder / f"{time.time_ns()}-{uuid.uuid4().hex[:6]}.json").write_text(json.dumps(entry))


def _failing(body):
    try:
        return bool(json.loads(body).get("fail"))
    except (ValueError, AttributeError):
        return False


def sqs_report(event, context):
    """Reports as failed every message whose body says {"fail": true}."""
    _trace(event, context)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if _failing(r["body"])]}


def fifo_fail_tail_once(event, context):
    """On a message's first receive, fails every message from n >= 2 on (as a FIFO consumer must:
    the failed one and all after it); on later receives, succeeds."""
    _trace(event, context)
    failed = [
        r for r in event["Records"]
        if json.loads(r["body"])["n"] >= 2 and r["attributes"]["ApproximateReceiveCount"] == "1"
    ]
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}


def _poisoned(record):
    keys = record["dynamodb"]["Keys"]
    return str(next(iter(keys["pk"].values()))).startswith("poison") if "pk" in keys else False


def stream_report(event, context):
    _trace(event, context)
    return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"] if _poisoned(r)]}


def stream_raise(event, context):
    _trace(event, context)
    if any(_poisoned(r) for r in event["Records"]):
        raise ValueError("poison record in batch")


def stream_malformed(event, context):
    _trace(event, context)
    if any(_poisoned(r) for r in event["Records"]):
        return {"batchItemFailures": [{"itemIdentifier": "not-a-sequence-number"}]}
    return {"batchItemFailures": []}


def record(event, context):
    _trace(event, context)


def async_fail(event, context):
    _trace(event, context)
    raise RuntimeError("refused")


def async_ok(event, context):
    _trace(event, context)
    return {"ok": event}
