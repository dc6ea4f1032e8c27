"""Shared fixtures: one embedded moto server per test module, and stacks built by hand on it.

The tools only see a `StackTarget` (logical ids -> physical ids + endpoints), so unit tests
create the few resources they need with boto3 and describe them in a target directly.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.targets import RUN_TOKEN, parametrize_targets, resolve_target
from localcloud.emulator import EmbeddedMoto, Endpoints
from ordertools.targets import BUCKET, QUEUE, TOPIC, StackResource, StackTarget

_names = itertools.count()
HERE = Path(__file__).resolve().parent


# Modules whose flows go through the runtime and a queue's redrive: they run on both emulator targets
# (tests/conftest.py); the other modules test the tools' logic, on moto alone.
ON_BOTH_TARGETS = frozenset({"test_dlq_redrive_flow.py", "test_dlq.py", "test_replay_archive.py", "test_archive.py"})
# Tests whose localstack variant cannot pass, and the difference that stops it (rows in docs/emulators.md).
LOCALSTACK_DIFFERENCES = {
    "test_redrive_all_falls_back_to_moving_messages_and_keeps_attributes":
        "asserts the by-hand fallback moto needs (no StartMessageMoveTask); LocalStack, like AWS, runs the move task",
    "test_fifo_redrive_keeps_group_and_is_not_swallowed_by_deduplication":
        "LocalStack's StartMessageMoveTask re-sends FIFO messages with their original deduplication id, so within "
        "5 minutes the source queue drops them (AWS gives dead-lettered FIFO messages their message id as dedup id)",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.path.name in ON_BOTH_TARGETS and "endpoints" in metafunc.fixturenames:
        parametrize_targets(metafunc, "endpoints")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        mark = item.get_closest_marker("target")
        if mark and mark.args[0] == "localstack" and item.path.parent == HERE:
            reason = LOCALSTACK_DIFFERENCES.get(getattr(item, "originalname", item.name))
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"localstack: {reason}"))


@pytest.fixture(scope="module")
def endpoints(request: pytest.FixtureRequest) -> Iterator[Endpoints]:
    """Embedded moto, under LocalStack's SQS/SNS/S3 in a module's localstack variants."""
    target = resolve_target(getattr(request, "param", "moto"))
    with EmbeddedMoto() as moto:
        yield target.over(moto)


class StackBuilder:
    """Creates resources with unique physical names and records them as a stack would."""

    def __init__(self, endpoints: Endpoints):
        self.endpoints = endpoints
        self.prefix = f"t{RUN_TOKEN}{next(_names)}"  # LocalStack outlives a session: names unique per run
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
