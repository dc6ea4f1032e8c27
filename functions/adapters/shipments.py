"""Shipments in DynamoDB, as the warehouse's dispatch sees them.

The shipping consumer creates and cancels the rows (handlers/shipping.py); dispatching moves a
row and its order together in ONE transaction, each part conditional, so neither can be written
without the other: a cancel that won the order leaves the shipment untouched.
"""

from __future__ import annotations

from typing import Any

from adapters.dynamo_items import from_item, order_update, to_item
from consumers.envelope import utc_iso
from orders.models import Order, Shipment, ShipmentStatus
from orders.ports import StaleOrder

# Cancellation reasons that mean "someone else changed it first": decide again on a fresh read.
_MOVED = frozenset({"None", "ConditionalCheckFailed", "TransactionConflict"})


class DynamoShipments:
    def __init__(self, client: Any, *, shipments_table: str, orders_table: str) -> None:
        self._client = client
        self._shipments = shipments_table
        self._orders = orders_table

    def get(self, order_id: str) -> Shipment | None:
        item = self._client.get_item(TableName=self._shipments, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item")
        return Shipment.model_validate(from_item(item)) if item else None

    def dispatch(self, previous: Order, shipped: Order, dispatched: Shipment) -> None:
        assert dispatched.dispatched_at is not None, "a dispatched shipment has a dispatch time"
        shipment_update = {
            "TableName": self._shipments,
            "Key": {"order_id": {"S": dispatched.order_id}},
            "UpdateExpression": "SET #status = :dispatched, dispatched_at = :at",
            "ConditionExpression": "#status = :ready",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_item(
                {
                    ":dispatched": dispatched.status.value,
                    ":at": utc_iso(dispatched.dispatched_at),
                    ":ready": ShipmentStatus.READY_TO_SHIP.value,
                }
            ),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[{"Update": order_update(self._orders, previous, shipped)}, {"Update": shipment_update}]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            codes = {reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])}
            if not codes <= _MOVED:
                raise
            raise StaleOrder(f"order {previous.order_id} or its shipment moved before the dispatch") from exc
