"""Shared fixtures: one embedded moto server per test module, and stacks built by hand on it.

The tools only see a `StackTarget` (logical ids -> physical ids + endpoints), so unit tests
create the few resources they need with boto3 and describe them in a target directly.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest

from localcloud.emulator import EmbeddedMoto, Endpoints
from ordertools.targets import BUCKET, QUEUE, TOPIC, StackResource, StackTarget

_names = itertools.count()


@pytest.fixture(scope="module")
def endpoints() -> Iterator[Endpoints]:
    with EmbeddedMoto() as eps:
        yield eps


class StackBuilder:
    """Creates resources with unique physical names and records them as a stack would."""

    def __init__(self, endpoints: Endpoints):
        self.endpoints = endpoints
        self.prefix = f"t{next(_names)}"
        self.resources: dict[str, StackResource] = {}
        self.failure_destinations: dict[str, tuple[str, ...]] = {}
        self.sqs = endpoints.client("sqs")

    def queue(self, logical_id: str, *, dlq: str | None = None, max_receive_count: int = 2, fifo: bool = False) -> str:
        name = f"{self.prefix}-{logical_id}" + (".fifo" if fifo else "")
        attributes = {"VisibilityTimeout": "0"}
        if fifo:
            attributes["FifoQueue"] = "true"
        if dlq:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": max_receive_count})
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.resources[logical_id] = StackResource(logical_id, QUEUE, url)
        return url

    def arn(self, logical_id: str) -> str:
        url = self.resources[logical_id].physical_id
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def topic(self, logical_id: str) -> str:
        arn = self.endpoints.client("sns").create_topic(Name=f"{self.prefix}-{logical_id}")["TopicArn"]
        self.resources[logical_id] = StackResource(logical_id, TOPIC, arn)
        return arn

    def bucket(self, logical_id: str) -> str:
        name = f"{self.prefix}-{logical_id}".lower()
        self.endpoints.client("s3").create_bucket(Bucket=name)
        self.resources[logical_id] = StackResource(logical_id, BUCKET, name)
        return name

    def target(self, functions: dict[str, str] | None = None) -> StackTarget:
        return StackTarget(
            stack_name=self.prefix,
            endpoints=self.endpoints,
            resources=dict(self.resources),
            functions=functions or {},
            failure_destinations=dict(self.failure_destinations),
        )


@pytest.fixture
def stack(endpoints: Endpoints) -> StackBuilder:
    return StackBuilder(endpoints)


def wait_until(probe, *, timeout_s: float = 60.0, interval_s: float = 0.1, message: str = "condition"):
    """Poll `probe` until it returns something truthy, within a bounded deadline."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {message} (last: {value!r})")
        time.sleep(interval_s)
