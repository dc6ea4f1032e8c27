"""The deployer against the second target: LocalStack for SQS/SNS/S3, moto server for DynamoDB.

Wired only through per-service endpoints, the way the e2e suites run on LocalStack. Needs
`make localstack-up` (LOCALSTACK_ENDPOINT); skipped with that reason otherwise. What it checks
is what differs between the emulators in ways that touched us (see docs/emulators.md): the
subscription and its filter policy, S3 notifications to SQS, redrive to the DLQ.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.deploy import deploy
from localcloud.emulator import EmbeddedMoto, Endpoints
from localcloud.model import DeployedStack

TEMPLATE = Path(__file__).parent / "templates" / "localstack_smoke.yaml"
LOCALSTACK = os.environ.get("LOCALSTACK_ENDPOINT")
WAIT_S = 10

pytestmark = pytest.mark.skipif(not LOCALSTACK, reason="LOCALSTACK_ENDPOINT not set: run `make localstack-up`")


@pytest.fixture(scope="module")
def endpoints() -> Iterator[Endpoints]:
    with EmbeddedMoto() as moto:
        yield Endpoints(default=moto.default, per_service={svc: LOCALSTACK or "" for svc in ("sqs", "sns", "s3")})


@pytest.fixture(scope="module")
def deployed(endpoints: Endpoints) -> tuple[DeployedStack, list[dict[str, Any]]]:
    """The stack, and what reached its queue on deploy: S3 sends an s3:TestEvent when notifications are set."""
    # A stack name of its own per run: LocalStack outlives the test session.
    stack = deploy(TEMPLATE, endpoints, stack_name=f"smoke{time.time_ns() % 10**9}")
    return stack, [json.loads(m["Body"]) for m in receive(endpoints, stack.physical_id("WorkQueue"))]


@pytest.fixture(scope="module")
def stack(deployed: tuple[DeployedStack, list[dict[str, Any]]]) -> DeployedStack:
    return deployed[0]


def receive(endpoints: Endpoints, queue_url: str, *, delete: bool = True) -> list[dict[str, Any]]:
    """Messages that arrive within WAIT_S (long polls, bounded)."""
    sqs = endpoints.client("sqs")
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if got:
            if delete:
                for m in got:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
            return got
    return []


def test_data_services_land_on_localstack_and_tables_on_moto(endpoints: Endpoints, stack: DeployedStack) -> None:
    assert stack.physical_id("WorkQueue").startswith(f"{LOCALSTACK}/")
    bucket = stack.physical_id("UploadsBucket")
    assert bucket in [b["Name"] for b in endpoints.client("s3").list_buckets()["Buckets"]]
    encryption = endpoints.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    table = endpoints.client("dynamodb").describe_table(TableName=stack.physical_id("ItemsTable"))["Table"]
    assert table["TableStatus"] == "ACTIVE"


def test_setting_the_notification_configuration_sends_a_test_event(deployed: tuple[DeployedStack, list[dict[str, Any]]]) -> None:
    stack, on_deploy = deployed
    assert [(b["Event"], b["Bucket"]) for b in on_deploy] == [("s3:TestEvent", stack.physical_id("UploadsBucket"))]


def test_subscription_delivers_raw_and_applies_its_filter_policy(endpoints: Endpoints, stack: DeployedStack) -> None:
    sns = endpoints.client("sns")
    topic = stack.physical_id("EventsTopic")
    sns.publish(TopicArn=topic, Message=json.dumps({"n": 1}),
                MessageAttributes={"event_type": {"DataType": "String", "StringValue": "OrderShipped"}})
    sns.publish(TopicArn=topic, Message=json.dumps({"n": 2}),
                MessageAttributes={"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}})
    got = receive(endpoints, stack.physical_id("WorkQueue"))
    assert [json.loads(m["Body"]) for m in got] == [{"n": 2}]  # raw: the body is the message itself
    assert got[0]["MessageAttributes"]["event_type"]["StringValue"] == "OrderPlaced"


def test_object_created_under_the_prefix_notifies_the_queue(endpoints: Endpoints, stack: DeployedStack) -> None:
    s3 = endpoints.client("s3")
    bucket = stack.physical_id("UploadsBucket")
    s3.put_object(Bucket=bucket, Key="elsewhere/a.jsonl", Body=b"{}\n")
    s3.put_object(Bucket=bucket, Key="imports/b.jsonl", Body=b"{}\n")
    bodies = [json.loads(m["Body"]) for m in receive(endpoints, stack.physical_id("WorkQueue"))]
    records = [r for body in bodies for r in body.get("Records", [])]
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [("ObjectCreated:Put", "imports/b.jsonl")]


def test_a_message_received_max_receive_count_times_moves_to_the_dlq(endpoints: Endpoints, stack: DeployedStack) -> None:
    sqs = endpoints.client("sqs")
    work, dlq = stack.physical_id("WorkQueue"), stack.physical_id("WorkDLQ")
    sqs.send_message(QueueUrl=work, MessageBody="poison", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    receives = 0
    for _ in range(10):  # bounded: maxReceiveCount is 2
        got = sqs.receive_message(QueueUrl=work, WaitTimeSeconds=1, VisibilityTimeout=0).get("Messages", [])
        receives += len(got)
        if not got and receives >= 2:
            break
    assert receives == 2
    moved = receive(endpoints, dlq)
    assert [(m["Body"], m["MessageAttributes"]["k"]["StringValue"]) for m in moved] == [("poison", "v")]
