"""Async handlers: always fail, always succeed, or record what arrived."""

import json
import os
import time
import uuid
from pathlib import Path


def always_fail(event, context):
    _trace(event, context)
    raise RuntimeError(f"cannot handle {event.get('order_id')}")


def succeed(event, context):
    _trace(event, context)
    return {"handled": event.get("order_id")}


def _trace(event, context):
    trace_dir = os.environ.get("TRACE_DIR")
    if trace_dir:
        entry = {"at": time.time(), "request_id": context.aws_request_id, "event": event}
        (Path(trace_dir) / f"{time.time_ns()}-{uuid.uuid4().hex[:6]}.json").write_text(json.dumps(entry))
