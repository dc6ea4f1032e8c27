"""DynamoShipments against moto: dispatch is one transaction, both conditions hold or nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from adapters.dynamo_items import from_item
from adapters.order_repository import DynamoOrderRepository
from adapters.shipments import DynamoShipments
from orders import state
from orders.dispatch import NotDispatchable, dispatch
from orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from orders.ports import StaleOrder
from orders.service import place_order

from .conftest import PRODUCTS, order_request
from .fakes import Clock, Stock

AT = datetime(2030, 1, 2, tzinfo=UTC)


class Tables:
    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        for table in ("orders", "shipments"):
            self.ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        self.orders = DynamoOrderRepository(self.ddb, "orders")
        self.shipments = DynamoShipments(self.ddb, shipments_table="shipments", orders_table="orders")

    def confirmed(self, key: str = "k") -> Order:
        """A CONFIRMED order and the READY_TO_SHIP row the shipping consumer writes (more attributes than dispatch reads)."""
        placed = place_order(order_request(), idempotency_key=key, catalog=Stock(PRODUCTS), orders=self.orders, correlation_id="c", now=AT)
        confirmed = state.advance(placed, OrderStatus.CONFIRMED, step="CONFIRMED", at=AT)
        self.orders.save(placed, confirmed)
        self.ddb.put_item(
            TableName="shipments",
            Item={
                "order_id": {"S": confirmed.order_id},
                "shipment_id": {"S": f"s-{key}"},
                "status": {"S": "READY_TO_SHIP"},
                "customer_id": {"S": confirmed.customer_id},
                "created_at": {"S": "2030-01-02T00:00:00.000Z"},
            },
        )
        return confirmed

    def shipment_row(self, order_id: str) -> dict[str, Any]:
        return from_item(self.ddb.get_item(TableName="shipments", Key={"order_id": {"S": order_id}})["Item"])


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tables]:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        yield Tables()


def test_dispatch_writes_order_and_shipment_and_reads_back_the_same(tables: Tables) -> None:
    confirmed = tables.confirmed()

    done = dispatch(confirmed.order_id, orders=tables.orders, shipments=tables.shipments, clock=Clock())

    assert tables.orders.get(confirmed.order_id) == done.order
    assert done.order.status is OrderStatus.SHIPPED and done.order.history[-1].step == "SHIPPED"
    row = tables.shipment_row(confirmed.order_id)
    assert row["status"] == "DISPATCHED" and row["customer_id"] == confirmed.customer_id  # the consumer's attributes stay
    assert row["dispatched_at"].endswith("Z")  # the table's one text form for times (consumers.envelope.utc_iso)
    assert tables.shipments.get(confirmed.order_id) == done.shipment
    again = dispatch(confirmed.order_id, orders=tables.orders, shipments=tables.shipments, clock=Clock())
    assert again == done


def test_a_moved_order_cancels_the_whole_transaction(tables: Tables) -> None:
    confirmed = tables.confirmed()
    cancelling = state.advance(confirmed, OrderStatus.CANCEL_REQUESTED, step="CANCEL_REQUESTED", at=AT)
    tables.orders.save(confirmed, cancelling)
    shipment = tables.shipments.get(confirmed.order_id)
    assert shipment is not None

    with pytest.raises(StaleOrder):
        tables.shipments.dispatch(
            confirmed,
            state.advance(confirmed, OrderStatus.SHIPPED, step="SHIPPED", at=AT),
            shipment.model_copy(update={"status": ShipmentStatus.DISPATCHED, "dispatched_at": AT}),
        )

    assert tables.orders.get(confirmed.order_id) == cancelling
    assert tables.shipment_row(confirmed.order_id)["status"] == "READY_TO_SHIP"
    assert "dispatched_at" not in tables.shipment_row(confirmed.order_id)


def test_a_shipment_no_longer_ready_cancels_the_whole_transaction(tables: Tables) -> None:
    confirmed = tables.confirmed()
    tables.ddb.update_item(
        TableName="shipments",
        Key={"order_id": {"S": confirmed.order_id}},
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": {"S": "CANCELLED"}},
    )

    with pytest.raises(NotDispatchable):
        dispatch(confirmed.order_id, orders=tables.orders, shipments=tables.shipments, clock=Clock())
    with pytest.raises(StaleOrder):  # the adapter alone: the order's condition holds, the shipment's does not
        tables.shipments.dispatch(
            confirmed,
            state.advance(confirmed, OrderStatus.SHIPPED, step="SHIPPED", at=AT),
            Shipment(order_id=confirmed.order_id, shipment_id="s-k", status=ShipmentStatus.DISPATCHED, dispatched_at=AT),
        )

    assert tables.orders.get(confirmed.order_id) == confirmed
    assert tables.shipment_row(confirmed.order_id)["status"] == "CANCELLED"


def test_no_shipment_row_is_created_by_a_dispatch(tables: Tables) -> None:
    confirmed = tables.confirmed()
    tables.ddb.delete_item(TableName="shipments", Key={"order_id": {"S": confirmed.order_id}})

    with pytest.raises(StaleOrder):
        tables.shipments.dispatch(
            confirmed,
            state.advance(confirmed, OrderStatus.SHIPPED, step="SHIPPED", at=AT),
            Shipment(order_id=confirmed.order_id, shipment_id="s-k", status=ShipmentStatus.DISPATCHED, dispatched_at=AT),
        )

    assert "Item" not in tables.ddb.get_item(TableName="shipments", Key={"order_id": {"S": confirmed.order_id}})
    assert tables.orders.get(confirmed.order_id) == confirmed
