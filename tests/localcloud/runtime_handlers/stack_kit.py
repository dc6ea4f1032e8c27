"""Build stacks by hand for the runtime's tests: queues and tables in the emulator, specs in a
`DeployedStack`, so the runtime is tested without waiting for (or depending on) the deployer."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from localcloud.emulator import Endpoints
from localcloud.model import ACCOUNT_ID, DEFAULT_REGION, DeployedStack, FunctionSpec

HANDLERS = Path(__file__).resolve().parent


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def function(logical_id: str, handler: str, **overrides: Any) -> FunctionSpec:
    name = unique(logical_id)
    spec = FunctionSpec(
        logical_id=logical_id,
        function_name=name,
        arn=f"arn:aws:lambda:{DEFAULT_REGION}:{ACCOUNT_ID}:function:{name}",
        handler=handler,
        runtime="python3.13",
        code_dir=HANDLERS,
        timeout_s=3,
    )
    return replace(spec, **overrides)


def stack(*functions: FunctionSpec) -> DeployedStack:
    return DeployedStack(
        stack_name=unique("runtime-test"),
        region=DEFAULT_REGION,
        account_id=ACCOUNT_ID,
        parameters={},
        resources={},
        functions={spec.logical_id: spec for spec in functions},
        outputs={},
    )


def make_queue(
    endpoints: Endpoints, *, visibility_s: int = 1, max_receives: int | None = None, fifo: bool = False
) -> tuple[str, str, str | None]:
    """A queue (and its DLQ when `max_receives` is given): (url, arn, dlq_url)."""
    sqs = endpoints.client("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    attributes = {"VisibilityTimeout": str(visibility_s), **fifo_attrs}
    dlq_url = None
    if max_receives is not None:
        dlq_url = sqs.create_queue(QueueName=unique("dlq") + suffix, Attributes=fifo_attrs)["QueueUrl"]
        dlq_arn = queue_arn(endpoints, dlq_url)
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)})
    url = sqs.create_queue(QueueName=unique("queue") + suffix, Attributes=attributes)["QueueUrl"]
    return url, queue_arn(endpoints, url), dlq_url


def queue_arn(endpoints: Endpoints, url: str) -> str:
    attrs = endpoints.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attrs["Attributes"]["QueueArn"]


def queue_depth(endpoints: Endpoints, url: str) -> tuple[int, int]:
    """(visible, in flight) messages."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = endpoints.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attrs[names[0]]), int(attrs[names[1]])


def drain(endpoints: Endpoints, url: str, expected: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Receive (and delete) messages until `expected` arrived or the deadline passes."""
    sqs = endpoints.client("sqs")
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(messages) < expected and time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)
    return messages
