"""The fan-out through the local cloud: an order placed over HTTP; receipts, shipments, the data
lake, the search projection and the archive out, and duplicates that change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consumers.archive import archive_key
from consumers.envelope import read_header, read_order_event
from consumers.lake import lake_key
from localcloud.cloud import LocalCloud
from support.waits import wait_until

from .conftest import Shop

pytestmark = pytest.mark.e2e

CONSUMER_FUNCTIONS = ("EmailFunction", "ShippingFunction", "AnalyticsFunction", "SearchFunction", "ArchiveFunction")
CONSUMER_QUEUES = ("EmailQueue", "ShippingQueue", "AnalyticsQueue", "SearchQueue", "ArchiveQueue")
CONSUMER_DLQS = ("EmailDLQ", "ShippingDLQ", "AnalyticsDLQ", "SearchDLQ", "ArchiveDLQ")


class Fanout:
    """The consumers' side effects in the running stack, read back with plain boto3."""

    def __init__(self, cloud: LocalCloud, shop: Shop) -> None:
        self.cloud, self.shop = cloud, shop
        self.s3 = cloud.client("s3")
        self.dynamodb = cloud.client("dynamodb")
        self.sns = cloud.client("sns")
        self.receipts = cloud.stack.physical_id("ReceiptsBucket")
        self.lake = cloud.stack.physical_id("DataLakeBucket")
        self.archive = cloud.stack.physical_id("ArchiveBucket")
        self.shipments = cloud.stack.physical_id("ShipmentsTable")
        self.search = cloud.stack.physical_id("SearchTable")
        self.topic = cloud.stack.physical_id("OrderEventsTopic")

    def objects(self, bucket: str, prefix: str) -> dict[str, str]:
        """key -> ETag of every object under the prefix."""
        found: dict[str, str] = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
        return found

    def body(self, bucket: str, key: str) -> bytes:
        return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def item(self, table: str, order_id: str) -> dict[str, Any] | None:
        return self.dynamodb.get_item(TableName=table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")

    def lake_records(self, order_id: str) -> dict[str, dict[str, Any]]:
        """Every lake record of this order (scans the lake: fine at test sizes)."""
        records = {key: json.loads(self.body(self.lake, key)) for key in self.objects(self.lake, "analytics/")}
        return {key: r for key, r in records.items() if r["order_id"] == order_id}

    def state(self, order_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Everything the consumers own about one order, comparable before and after a replay."""
        receipts = self.s3.list_objects_v2(Bucket=self.receipts, Prefix=f"receipts/{order_id}/").get("Contents", [])
        archived = {
            key: [(v["ETag"], v["IsLatest"]) for v in self.s3.list_object_versions(Bucket=self.archive, Prefix=key).get("Versions", [])]
            for key in (archive_key(read_header(json.dumps(e))) for e in events)
        }
        return {
            "receipts": {o["Key"]: (o["ETag"], o["LastModified"]) for o in receipts},
            "shipment": self.item(self.shipments, order_id),
            "lake": {key: self.objects(self.lake, key)[key] for key in self.lake_records(order_id)},
            "search": self.item(self.search, order_id),
            "archive": archived,
        }

    def wait_idle(self) -> None:
        for queue in CONSUMER_QUEUES:
            self.shop.wait_queue_idle(queue)

    def invocations(self) -> dict[str, int]:
        stats = self.cloud.runtime.stats()
        return {name: stats[name]["invocations"] for name in CONSUMER_FUNCTIONS}

    def dlq_depths(self) -> dict[str, int]:
        depths = {}
        for dlq in CONSUMER_DLQS:
            attrs = self.shop.sqs.get_queue_attributes(
                QueueUrl=self.cloud.stack.physical_id(dlq), AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            depths[dlq] = int(attrs["ApproximateNumberOfMessages"])
        return depths

    def republish(self, archived_body: bytes) -> None:
        """Publish an envelope again exactly as it was first published (the archive keeps its bytes)."""
        event = json.loads(archived_body)
        self.sns.publish(
            TopicArn=self.topic,
            Message=archived_body.decode(),
            MessageAttributes={
                "event_type": {"DataType": "String", "StringValue": event["event_type"]},
                "schema_version": {"DataType": "Number", "StringValue": str(event["schema_version"])},
            },
        )


@pytest.fixture(scope="module")
def fanout(cloud: LocalCloud, shop: Shop) -> Fanout:
    return Fanout(cloud, shop)


def confirmed_order(shop: Shop, fanout: Fanout, customer_id: str) -> tuple[str, list[dict[str, Any]]]:
    """A confirmed order whose events every consumer has processed, and those events."""
    sku = shop.put_product(stock=10, price_cents=1999)
    response = shop.post_order(
        {
            "customer_id": customer_id,
            "items": [{"sku": sku, "quantity": 2}],
            "payment_token": "tok_visa",
            "shipping_address": {"name": "Ada", "line1": "1 Loop St", "city": "Lyon", "postal_code": "69001", "country": "FR"},
        }
    )
    assert response.status_code == 202, response.text
    order_id = str(response.json()["order_id"])
    shop.wait_status(order_id, "CONFIRMED")
    confirmed = shop.events.wait_for(order_id, "OrderConfirmed")
    wait_until(lambda: (doc := fanout.item(fanout.search, order_id)) and doc["status"]["S"] == "CONFIRMED", message="search document")
    wait_until(lambda: fanout.item(fanout.shipments, order_id), message="shipment")
    wait_until(lambda: fanout.objects(fanout.receipts, f"receipts/{order_id}/"), message="receipt")
    fanout.wait_idle()
    events = [e for e in shop.events.events(order_id)]
    assert confirmed in events
    return order_id, events


def test_confirmed_order_gets_one_receipt_shipment_lake_record_per_event_search_document_and_archive(
    shop: Shop, fanout: Fanout
) -> None:
    order_id, events = confirmed_order(shop, fanout, "cust-fanout-happy")
    assert sorted(e["event_type"] for e in events) == ["OrderConfirmed", "OrderPlaced"]
    confirmed = read_order_event(json.dumps(next(e for e in events if e["event_type"] == "OrderConfirmed")))

    receipts = fanout.objects(fanout.receipts, f"receipts/{order_id}/")
    assert list(receipts) == [f"receipts/{order_id}/OrderConfirmed.html"]
    html = fanout.body(fanout.receipts, f"receipts/{order_id}/OrderConfirmed.html").decode()
    assert "39.98 EUR" in html and order_id in html

    shipment = fanout.item(fanout.shipments, order_id)
    assert shipment is not None
    assert shipment["status"]["S"] == "READY_TO_SHIP"
    assert shipment["created_by_event"]["S"] == confirmed.event_id

    lake = fanout.lake_records(order_id)
    assert sorted(lake) == sorted(lake_key(read_order_event(json.dumps(e))) for e in events)
    assert {r["event_type"]: r["status"] for r in lake.values()} == {"OrderPlaced": "PENDING", "OrderConfirmed": "CONFIRMED"}

    search = fanout.item(fanout.search, order_id)
    assert search is not None
    assert (search["status"]["S"], search["customer_id"]["S"], search["total_cents"]["N"]) == ("CONFIRMED", "cust-fanout-happy", "3998")
    assert int(search["version"]["N"]) == confirmed.payload.version

    for event in events:
        key = archive_key(read_header(json.dumps(event)))
        assert json.loads(fanout.body(fanout.archive, key)) == event
    assert fanout.dlq_depths() == dict.fromkeys(CONSUMER_DLQS, 0)


def test_declined_order_gets_no_receipt_and_no_shipment(shop: Shop, fanout: Fanout) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 1)], token="tok_declined")
    shop.wait_status(order_id, "REJECTED")
    shop.events.wait_for(order_id, "OrderRejected")
    search = wait_until(
        lambda: (doc := fanout.item(fanout.search, order_id)) and doc["status"]["S"] == "REJECTED" and doc,
        message="the rejection in the search projection",
    )
    assert search["reason"]["S"] == "PAYMENT_DECLINED"
    fanout.wait_idle()

    assert fanout.objects(fanout.receipts, f"receipts/{order_id}/") == {}
    assert fanout.item(fanout.shipments, order_id) is None
    assert {r["event_type"] for r in fanout.lake_records(order_id).values()} == {"OrderPlaced", "OrderRejected"}


def test_the_same_events_published_again_change_nothing(shop: Shop, fanout: Fanout) -> None:
    order_id, events = confirmed_order(shop, fanout, "cust-fanout-dup")
    before = fanout.state(order_id, events)
    assert all(before.values()), before
    invoked = fanout.invocations()

    for event in events:
        fanout.republish(fanout.body(fanout.archive, archive_key(read_header(json.dumps(event)))))
    wait_until(
        lambda: all(n > invoked[name] for name, n in fanout.invocations().items()),
        message="every consumer to receive the duplicates",
    )
    fanout.wait_idle()

    assert fanout.state(order_id, events) == before
    assert fanout.dlq_depths() == dict.fromkeys(CONSUMER_DLQS, 0)


def test_a_cancelled_order_cancels_its_shipment_and_gets_a_cancellation_receipt(shop: Shop, fanout: Fanout) -> None:
    order_id, _ = confirmed_order(shop, fanout, "cust-fanout-cancel")
    assert shop.cancel(order_id).status_code in (200, 202)
    shop.wait_status(order_id, "CANCELLED")
    cancelled = shop.events.wait_for(order_id, "OrderCancelled")

    shipment = wait_until(
        lambda: (row := fanout.item(fanout.shipments, order_id)) and row["status"]["S"] == "CANCELLED" and row,
        message="the shipment cancelled",
    )
    assert shipment["cancelled_by_event"]["S"] == cancelled["event_id"]
    wait_until(lambda: f"receipts/{order_id}/OrderCancelled.html" in fanout.objects(fanout.receipts, f"receipts/{order_id}/"), message="cancellation receipt")
    wait_until(lambda: (doc := fanout.item(fanout.search, order_id)) and doc["status"]["S"] == "CANCELLED", message="search document cancelled")
    fanout.wait_idle()
    assert sorted(fanout.objects(fanout.receipts, f"receipts/{order_id}/")) == [
        f"receipts/{order_id}/OrderCancelled.html",
        f"receipts/{order_id}/OrderConfirmed.html",
    ]
