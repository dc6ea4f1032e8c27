"""SQS handlers: partial failures, slow work, and a concurrency trace written per invocation."""

import json
import os
import time
import uuid
from pathlib import Path


def report_failures(event, context):
    """Fails every record whose body contains "poison"; the rest succeed."""
    _trace(event)
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if "poison" in r["body"]]
    return {"batchItemFailures": failures}


def slow(event, context):
    """Sleeps `sleep_s` from the first record's JSON body, recording start and end."""
    started = time.time()
    time.sleep(json.loads(event["Records"][0]["body"]).get("sleep_s", 0))
    _trace(event, started)
    return None


def _trace(event, started=None):
    """One file per invocation: start, end, message ids and bodies, for assertions in the test."""
    trace_dir = os.environ.get("TRACE_DIR")
    if not trace_dir:
        return
    entry = {
        "start": started if started is not None else time.time(),
        "end": time.time(),
        "pid": os.getpid(),
        "records": [{"messageId": r["messageId"], "body": r["body"]} for r in event["Records"]],
        "event": event,
    }
    path = Path(trace_dir) / f"{uuid.uuid4().hex}.json"
    partial = path.with_suffix(".tmp")  # renamed when complete: a test globbing *.json never reads half a file
    partial.write_text(json.dumps(entry))
    partial.replace(path)


def slow_first_receive(event, context):
    """Overruns any short timeout on a message's first receive; succeeds on the retry."""
    if any(r["attributes"]["ApproximateReceiveCount"] == "1" for r in event["Records"]):
        time.sleep(30)
    _trace(event)
