"""The fan-out handlers invoked with AWS-shaped SQS batches against moto's in-process AWS.

Each test checks the side effect's state (objects, items) and the batch response, which is
what the event source mapping acts on (failed ids go back to the queue, then the DLQ).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from orders.events import EventType
from support.events import failed_ids, future_schema, order_event, sqs_batch
from support.lambda_context import REGION
from support.lambda_context import LambdaContext as Context
from support.lambda_context import lambda_environment

BUCKETS = {"RECEIPTS_BUCKET": "receipts-bucket", "DATA_LAKE_BUCKET": "lake-bucket", "ARCHIVE_BUCKET": "archive-bucket"}
TABLES = {"SHIPMENTS_TABLE": "shipments-table", "SEARCH_TABLE": "search-table"}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in lambda_environment("orderflow-consumers", **BUCKETS, **TABLES).items():
        monkeypatch.setenv(name, value)
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in BUCKETS.values():
            s3.create_bucket(Bucket=bucket)
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName=TABLES["SHIPMENTS_TABLE"],
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.create_table(
            TableName=TABLES["SEARCH_TABLE"],
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "order_id", "AttributeType": "S"},
                {"AttributeName": "customer_id", "AttributeType": "S"},
                {"AttributeName": "status", "AttributeType": "S"},
                {"AttributeName": "updated_at", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": index,
                    "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": "updated_at", "KeyType": "RANGE"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index, hash_key in (("ByCustomer", "customer_id"), ("ByStatus", "status"))
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield


def load(name: str) -> ModuleType:
    """Import the handler inside the mock, as Lambda imports it at cold start."""
    sys.modules.pop(f"handlers.{name}", None)
    return importlib.import_module(f"handlers.{name}")


def objects(bucket: str, prefix: str = "") -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def items(table: str) -> dict[str, dict[str, Any]]:
    rows = boto3.resource("dynamodb", region_name=REGION).Table(table).scan()["Items"]
    return {row["order_id"]: row for row in rows}


@pytest.mark.usefixtures("aws")
class TestEmail:
    def test_confirmed_order_gets_one_receipt_and_a_duplicate_writes_nothing(self) -> None:
        # The receipt is deterministic, so comparing bytes or ETags cannot tell a skipped duplicate from a
        # rewrite; on a versioned bucket every PutObject adds a version, so the count of versions can.
        s3 = boto3.client("s3", region_name=REGION)
        s3.put_bucket_versioning(Bucket=BUCKETS["RECEIPTS_BUCKET"], VersioningConfiguration={"Status": "Enabled"})
        email = load("email")
        body = order_event(EventType.ORDER_CONFIRMED)
        assert failed_ids(email.lambda_handler(sqs_batch(body), Context())) == []
        assert failed_ids(email.lambda_handler(sqs_batch(body, body), Context())) == []
        versions = s3.list_object_versions(Bucket=BUCKETS["RECEIPTS_BUCKET"])["Versions"]
        assert [v["Key"] for v in versions] == ["receipts/ord-1/OrderConfirmed.html"]
        assert b"25.00 EUR" in objects(BUCKETS["RECEIPTS_BUCKET"])["receipts/ord-1/OrderConfirmed.html"]

    def test_placed_and_rejected_orders_get_no_receipt(self) -> None:
        email = load("email")
        batch = sqs_batch(order_event(EventType.ORDER_PLACED, status="PENDING"), order_event(EventType.ORDER_REJECTED, status="REJECTED"))
        assert failed_ids(email.lambda_handler(batch, Context())) == []
        assert objects(BUCKETS["RECEIPTS_BUCKET"]) == {}

    def test_bad_records_fail_alone(self) -> None:
        email = load("email")
        good = order_event(EventType.ORDER_CONFIRMED, order_id="ord-good")
        batch = sqs_batch("{not json", good, future_schema(order_event(EventType.ORDER_CONFIRMED, order_id="ord-future")))
        assert failed_ids(email.lambda_handler(batch, Context())) == ["msg-0", "msg-2"]
        assert list(objects(BUCKETS["RECEIPTS_BUCKET"])) == ["receipts/ord-good/OrderConfirmed.html"]


@pytest.mark.usefixtures("aws")
class TestShipping:
    def test_one_shipment_per_order_even_when_confirmed_twice(self) -> None:
        shipping = load("shipping")
        body = order_event(EventType.ORDER_CONFIRMED)
        assert failed_ids(shipping.lambda_handler(sqs_batch(body, body), Context())) == []
        assert failed_ids(shipping.lambda_handler(sqs_batch(body), Context())) == []
        rows = items(TABLES["SHIPMENTS_TABLE"])
        assert list(rows) == ["ord-1"]
        assert rows["ord-1"]["status"] == "READY_TO_SHIP"
        assert rows["ord-1"]["created_by_event"] == json.loads(body)["event_id"]

    def test_cancel_after_confirm_cancels_the_shipment(self) -> None:
        shipping = load("shipping")
        confirmed = order_event(EventType.ORDER_CONFIRMED, version=2)
        cancelled = order_event(EventType.ORDER_CANCELLED, version=4, status="CANCELLED", minutes=5)
        shipping.lambda_handler(sqs_batch(confirmed), Context())
        assert failed_ids(shipping.lambda_handler(sqs_batch(cancelled, cancelled), Context())) == []
        row = items(TABLES["SHIPMENTS_TABLE"])["ord-1"]
        assert row["status"] == "CANCELLED"
        assert row["created_by_event"] == json.loads(confirmed)["event_id"]
        assert row["cancelled_by_event"] == json.loads(cancelled)["event_id"]

    def test_cancel_before_confirm_never_creates_a_live_shipment(self) -> None:
        shipping = load("shipping")
        confirmed = order_event(EventType.ORDER_CONFIRMED, version=2)
        cancelled = order_event(EventType.ORDER_CANCELLED, version=4, status="CANCELLED", minutes=5)
        assert failed_ids(shipping.lambda_handler(sqs_batch(cancelled), Context())) == []
        assert failed_ids(shipping.lambda_handler(sqs_batch(confirmed), Context())) == []
        row = items(TABLES["SHIPMENTS_TABLE"])["ord-1"]
        assert row["status"] == "CANCELLED"
        assert "created_by_event" not in row

    def test_shipped_dispatches_the_waiting_shipment_once(self) -> None:
        shipping = load("shipping")
        confirmed = order_event(EventType.ORDER_CONFIRMED, version=2)
        shipped = order_event(EventType.ORDER_SHIPPED, version=3, status="SHIPPED", minutes=5)
        shipping.lambda_handler(sqs_batch(confirmed), Context())
        assert failed_ids(shipping.lambda_handler(sqs_batch(shipped, shipped), Context())) == []
        row = items(TABLES["SHIPMENTS_TABLE"])["ord-1"]
        assert (row["status"], row["dispatched_by_event"]) == ("DISPATCHED", json.loads(shipped)["event_id"])
        assert row["created_by_event"] == json.loads(confirmed)["event_id"] and row["lines"]  # the rest of the row stays
        # A dispatched shipment has left: a cancellation (which its SHIPPED order can never get) changes nothing.
        cancelled = order_event(EventType.ORDER_CANCELLED, version=4, status="CANCELLED", minutes=6)
        assert failed_ids(shipping.lambda_handler(sqs_batch(cancelled), Context())) == []
        assert items(TABLES["SHIPMENTS_TABLE"])["ord-1"] == row

    def test_shipped_before_confirmed_leaves_a_dispatched_row(self) -> None:
        shipping = load("shipping")
        confirmed = order_event(EventType.ORDER_CONFIRMED, version=2)
        shipped = order_event(EventType.ORDER_SHIPPED, version=3, status="SHIPPED", minutes=5)
        assert failed_ids(shipping.lambda_handler(sqs_batch(shipped), Context())) == []
        assert failed_ids(shipping.lambda_handler(sqs_batch(confirmed), Context())) == []
        row = items(TABLES["SHIPMENTS_TABLE"])["ord-1"]
        assert row["status"] == "DISPATCHED" and "created_by_event" not in row

    def test_a_batch_of_only_future_schemas_fails_whole_and_writes_nothing(self) -> None:
        shipping = load("shipping")
        with pytest.raises(BatchProcessingError, match="All records failed"):
            shipping.lambda_handler(sqs_batch(future_schema(order_event(EventType.ORDER_CONFIRMED))), Context())
        assert items(TABLES["SHIPMENTS_TABLE"]) == {}


@pytest.mark.usefixtures("aws")
class TestAnalytics:
    def test_each_event_is_one_object_and_replays_rewrite_it_identically(self) -> None:
        analytics = load("analytics")
        placed = order_event(EventType.ORDER_PLACED, version=1, status="PENDING")
        confirmed = order_event(EventType.ORDER_CONFIRMED, version=2, minutes=1)
        assert failed_ids(analytics.lambda_handler(sqs_batch(placed, confirmed), Context())) == []
        before = objects(BUCKETS["DATA_LAKE_BUCKET"])
        assert failed_ids(analytics.lambda_handler(sqs_batch(confirmed, placed), Context())) == []
        assert objects(BUCKETS["DATA_LAKE_BUCKET"]) == before
        assert sorted(before) == sorted(
            [
                f"analytics/dt=2025-03-04/event_type=OrderPlaced/{json.loads(placed)['event_id']}.json",
                f"analytics/dt=2025-03-04/event_type=OrderConfirmed/{json.loads(confirmed)['event_id']}.json",
            ]
        )
        record = json.loads(before[f"analytics/dt=2025-03-04/event_type=OrderConfirmed/{json.loads(confirmed)['event_id']}.json"])
        assert record["order_id"] == "ord-1" and record["status"] == "CONFIRMED" and record["total_cents"] == 2500


@pytest.mark.usefixtures("aws")
class TestSearch:
    def test_projection_converges_on_the_newest_version_whatever_the_order(self) -> None:
        search = load("search")
        placed = order_event(EventType.ORDER_PLACED, version=1, status="PENDING")
        confirmed = order_event(EventType.ORDER_CONFIRMED, version=2, minutes=1)
        assert failed_ids(search.lambda_handler(sqs_batch(confirmed), Context())) == []
        assert failed_ids(search.lambda_handler(sqs_batch(placed, confirmed), Context())) == []
        doc = items(TABLES["SEARCH_TABLE"])["ord-1"]
        assert doc["status"] == "CONFIRMED" and doc["version"] == 2
        assert doc["last_event_id"] == json.loads(confirmed)["event_id"]

    def test_documents_are_queryable_by_customer_and_status(self) -> None:
        search = load("search")
        batch = sqs_batch(
            order_event(EventType.ORDER_CONFIRMED, order_id="ord-a", minutes=1),
            order_event(EventType.ORDER_REJECTED, order_id="ord-b", status="REJECTED", reason="PAYMENT_DECLINED", minutes=2),
        )
        assert failed_ids(search.lambda_handler(batch, Context())) == []
        table = boto3.resource("dynamodb", region_name=REGION).Table(TABLES["SEARCH_TABLE"])
        by_customer = table.query(
            IndexName="ByCustomer", KeyConditionExpression="customer_id = :c", ExpressionAttributeValues={":c": "cust-1"}, ScanIndexForward=False
        )["Items"]
        assert [d["order_id"] for d in by_customer] == ["ord-b", "ord-a"]
        rejected = table.query(
            IndexName="ByStatus", KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":s": "REJECTED"}
        )["Items"]
        assert [(d["order_id"], d["reason"]) for d in rejected] == [("ord-b", "PAYMENT_DECLINED")]


@pytest.mark.usefixtures("aws")
class TestArchive:
    def test_archives_every_event_as_published_even_future_schemas(self) -> None:
        archive = load("archive")
        confirmed = order_event(EventType.ORDER_CONFIRMED)
        future = future_schema(order_event(EventType.ORDER_PLACED, order_id="ord-2", version=1, status="PENDING"))
        wrapped = json.dumps({"Type": "Notification", "MessageId": "m", "Message": confirmed})
        assert failed_ids(archive.lambda_handler(sqs_batch(confirmed, future, wrapped, "{bad"), Context())) == ["msg-3"]
        stored = objects(BUCKETS["ARCHIVE_BUCKET"])
        assert stored == {
            f"events/event_type=OrderConfirmed/dt=2025-03-04/hour=10/{json.loads(confirmed)['event_id']}.json": confirmed.encode(),
            f"events/event_type=OrderPlaced/dt=2025-03-04/hour=10/{json.loads(future)['event_id']}.json": future.encode(),
        }

    def test_the_archive_is_write_once(self) -> None:
        s3 = boto3.client("s3", region_name=REGION)
        s3.put_bucket_versioning(Bucket=BUCKETS["ARCHIVE_BUCKET"], VersioningConfiguration={"Status": "Enabled"})
        archive = load("archive")
        original = order_event(EventType.ORDER_CONFIRMED)
        tampered = json.loads(original)
        tampered["payload"]["total_cents"] = 1
        assert failed_ids(archive.lambda_handler(sqs_batch(original, original, json.dumps(tampered)), Context())) == []
        versions = s3.list_object_versions(Bucket=BUCKETS["ARCHIVE_BUCKET"])["Versions"]
        assert len(versions) == 1
        assert list(objects(BUCKETS["ARCHIVE_BUCKET"]).values()) == [original.encode()]
