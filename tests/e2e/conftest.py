"""One local cloud per emulator target for the whole end-to-end suite: template.yaml deployed on
embedded moto, or with SQS/SNS/S3 on LocalStack (tests/conftest.py), the payment sandbox as sidecar,
the catalog seeded, and a tap queue on the order-events topic. Every test runs once per target.

Fixtures:
- `cloud`: the running `LocalCloud` of the current target (api_url, stack, client(), sidecars["payments"]).
- `shop`:  what a test does with it: place orders over HTTP, wait for them to settle, read stock,
           the payment ledger and the published events. Tests give themselves their own skus
           (`shop.put_product`) so they never depend on each other's stock.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localcloud.cloud import LocalCloud
from ordertools.seed import seed
from payment_sandbox import PaymentSandbox
from support.waits import wait_until

from support.targets import Target

ROOT = Path(__file__).resolve().parents[2]
PAYMENT_TIMEOUT_MS = 1000
SETTLED = frozenset({"CONFIRMED", "REJECTED", "CANCELLED", "SHIPPED"})
ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postal_code": "N1 9GU", "country": "GB"}


def order_body(items: list[tuple[str, int]], token: str = "tok_visa", customer_id: str = "cust-e2e") -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        "payment_token": token,
        "shipping_address": ADDRESS,
    }


class EventTap:
    """Every event published on the topic, by order id (a raw, unfiltered subscription of our own)."""

    def __init__(self, cloud: LocalCloud) -> None:
        self._sqs = cloud.client("sqs")
        sns = cloud.client("sns")
        self._url = self._sqs.create_queue(QueueName=f"{cloud.stack_name}-event-tap")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=cloud.stack.physical_id("OrderEventsTopic"),
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self._by_order: dict[str, list[dict[str, Any]]] = {}

    def drain(self) -> None:
        for _ in range(100):
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                event = json.loads(message["Body"])
                self._by_order.setdefault(event["payload"]["order_id"], []).append(event)
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def events(self, order_id: str) -> list[dict[str, Any]]:
        self.drain()
        return list(self._by_order.get(order_id, []))

    def wait_for(self, order_id: str, event_type: str, timeout_s: float = 20) -> dict[str, Any]:
        found = wait_until(
            lambda: [e for e in self.events(order_id) if e["event_type"] == event_type],
            timeout_s=timeout_s, interval_s=0.2, message=f"{event_type} for {order_id}",
        )
        return found[0]


class Shop:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.api_url = cloud.api_url
        self.http = requests.Session()
        self.dynamodb = cloud.client("dynamodb")
        self.sqs = cloud.client("sqs")
        self.payments: PaymentSandbox = cloud.sidecars["payments"]  # type: ignore[assignment]
        self.catalog_table = cloud.stack.physical_id("CatalogTable")
        self.orders_table = cloud.stack.physical_id("OrdersTable")
        self.events = EventTap(cloud)

    # --- HTTP in ----------------------------------------------------------------------------------

    def post_order(self, body: Any, key: str | None = None, headers: dict[str, str] | None = None) -> requests.Response:
        sent = {"Idempotency-Key": key or f"e2e-{uuid.uuid4()}", **(headers or {})}
        return self.http.post(f"{self.api_url}/orders", json=body, headers=sent, timeout=30)

    def place(self, items: list[tuple[str, int]], token: str = "tok_visa", key: str | None = None) -> str:
        response = self.post_order(order_body(items, token), key)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "PENDING"
        return str(response.json()["order_id"])

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.http.get(f"{self.api_url}/orders/{order_id}", timeout=30)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def cancel(self, order_id: str) -> requests.Response:
        return self.http.post(f"{self.api_url}/orders/{order_id}/cancel", timeout=30)

    def wait_settled(self, order_id: str, timeout_s: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            order = self.order(order_id)
            if order["status"] in SETTLED or time.monotonic() > deadline:
                return order
            time.sleep(0.2)

    def wait_status(self, order_id: str, status: str, timeout_s: float = 30) -> dict[str, Any]:
        return wait_until(
            lambda: (order := self.order(order_id))["status"] == status and order,
            timeout_s=timeout_s, interval_s=0.2, message=f"{order_id} to be {status}",
        )

    # --- state out --------------------------------------------------------------------------------

    def put_product(self, stock: int, price_cents: int = 1000, sku: str | None = None) -> str:
        sku = sku or f"E2E-{uuid.uuid4().hex[:8].upper()}"
        seed(self.dynamodb, self.catalog_table, [{"sku": sku, "name": f"Test {sku}", "price_cents": price_cents, "stock": stock}])
        return sku

    def set_stock(self, sku: str, stock: int) -> None:
        self.dynamodb.update_item(
            TableName=self.catalog_table,
            Key={"sku": {"S": sku}},
            UpdateExpression="SET stock = :s",
            ExpressionAttributeValues={":s": {"N": str(stock)}},
        )

    def stock(self, sku: str) -> int:
        item = self.dynamodb.get_item(TableName=self.catalog_table, Key={"sku": {"S": sku}}, ConsistentRead=True)["Item"]
        return int(item["stock"]["N"])

    def order_count(self) -> int:
        return int(self.dynamodb.scan(TableName=self.orders_table, Select="COUNT")["Count"])

    def ledger(self, order_id: str) -> list[tuple[str, str]]:
        """(operation, outcome) of every payment operation made for this order, in order."""
        return [(e["operation"], e["outcome"]) for e in self.payments.ledger() if e["reference"] == order_id]

    def authorizations(self, order_id: str) -> list[dict[str, Any]]:
        return [a for a in self.payments.authorizations() if a["reference"] == order_id]

    def wait_queue_idle(self, logical_id: str, timeout_s: float = 30) -> None:
        """Until the queue has nothing visible nor in flight (checked twice in a row)."""
        url = self.cloud.stack.physical_id(logical_id)
        deadline, quiet = time.monotonic() + timeout_s, 0
        while quiet < 2:
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            idle = attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
            quiet = quiet + 1 if idle else 0
            assert time.monotonic() < deadline, f"{logical_id} still busy: {attrs}"
            time.sleep(0.3)

    def send_to_checkout(self, envelope: dict[str, Any]) -> None:
        """Deliver an envelope to the checkout queue as SNS would, and wait until a checkout run consumed it."""
        stats = self.cloud.runtime.stats
        invocations = stats()["CheckoutFunction"]["invocations"]
        url = self.cloud.stack.physical_id("CheckoutQueue")
        self.sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(envelope),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": envelope["event_type"]}},
        )
        deadline = time.monotonic() + 30
        while True:
            visible = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            checkout = stats()["CheckoutFunction"]
            if checkout["invocations"] > invocations and checkout["in_flight"] == 0 and visible["ApproximateNumberOfMessages"] == "0":
                return
            assert time.monotonic() < deadline, f"the checkout did not consume the message: {checkout}, {visible}"
            time.sleep(0.2)


# Package scope: the cloud (handler processes, pollers) stops after the last e2e test instead of
# idling beside the other suites until the session ends.
@pytest.fixture(scope="package")
def cloud(target: Target) -> Iterator[LocalCloud]:
    running = LocalCloud(
        template=ROOT / "template.yaml", stack_name=target.stack_name("e2e"), parameters={"PaymentTimeoutMs": str(PAYMENT_TIMEOUT_MS)}
    )
    # The endpoint variables only while it starts (it reads them then): left set, they would send every
    # other boto3 client of this process (moto's in-process mocks in unit tests) to LocalStack.
    with target.environment():
        running.start()
    try:
        seed(running.client("dynamodb"), running.stack.physical_id("CatalogTable"))
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="package")
def shop(cloud: LocalCloud) -> Shop:
    return Shop(cloud)
