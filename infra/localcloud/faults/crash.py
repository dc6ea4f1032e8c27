"""Crash a handler process right after a side effect, before its message is acknowledged (fault kind
`crash_after_side_effect`): the environment dies, and the message comes back after its visibility
timeout, or the stream batch is retried.

A botocore `after-call` hook on boto3's default session: every client a handler makes inherits it,
so nothing in `functions/` changes. It is meant to be installed by the handler process's bootstrap
before the handler module is imported, with one line (to come, with the runtime's new execution
environments; `runtime/bootstrap.py` is being rewritten):

    from localcloud.faults import crash; crash.install_from_environment()

The plan reaches the process as `ORDERFLOW_FAULT_PLAN` (JSON, as `FaultPlan.load` reads from a
file) and `ORDERFLOW_FAULT_SEED`. Each process decides on its own counters, mixed with its log
stream name so that environments do not all crash on the same call.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.faults.plan import FaultInjector, FaultKind, FaultPlan, fault_from_json

PLAN_VAR = "ORDERFLOW_FAULT_PLAN"
SEED_VAR = "ORDERFLOW_FAULT_SEED"
CRASH_EXIT_CODE = 86
# Calls that change something: a crash right after one of them is the case at-least-once must survive.
SIDE_EFFECTS: Mapping[str, frozenset[str]] = {
    "dynamodb": frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}),
    "sns": frozenset({"Publish", "PublishBatch"}),
    "sqs": frozenset({"SendMessage", "SendMessageBatch"}),
    "s3": frozenset({"PutObject", "CopyObject", "DeleteObject"}),
}


def crash_hook(injector: FaultInjector, exit_process: Callable[[int], Any] = os._exit) -> Callable[..., None]:
    """The `after-call` handler: after a successful side effect the plan picks, end the process at once."""

    def after_call(http_response: Any, model: Any, **_: Any) -> None:
        service = model.service_model.endpoint_prefix
        if model.name not in SIDE_EFFECTS.get(service, ()) or getattr(http_response, "status_code", 500) >= 300:
            return
        fault = injector.decide(service, model.name)
        if fault is not None and fault.kind is FaultKind.CRASH_AFTER_SIDE_EFFECT:
            exit_process(CRASH_EXIT_CODE)

    return after_call


def install(events: Any, plan: FaultPlan, exit_process: Callable[[int], Any] = os._exit) -> FaultInjector:
    """Register the hook on a botocore event emitter (a session's `events`); returns the armed injector."""
    injector = FaultInjector(plan)
    events.register("after-call", crash_hook(injector, exit_process))
    injector.arm()
    return injector


def install_from_environment(environ: Mapping[str, str] = os.environ) -> FaultInjector | None:
    """Install on boto3's default session when the process was given a plan; None otherwise."""
    text = environ.get(PLAN_VAR)
    if not text:
        return None
    import boto3  # the handler's own boto3: the hook must be on the session its clients come from

    faults = tuple(f for f in (fault_from_json(e) for e in json.loads(text)["faults"]) if f.kind is FaultKind.CRASH_AFTER_SIDE_EFFECT)
    mixed = f"{environ.get(SEED_VAR, '0')}:{environ.get('AWS_LAMBDA_LOG_STREAM_NAME', '')}".encode()
    seed = int.from_bytes(hashlib.blake2b(mixed, digest_size=4).digest(), "big")
    boto3.setup_default_session()
    return install(boto3.DEFAULT_SESSION.events, FaultPlan(faults, seed, "crash"))  # type: ignore[union-attr]
