"""One shipment per order, and how it stops waiting: cancelled, or dispatched.

The shipment's row is the idempotency record: confirming creates it only if the order has
no row yet; cancelling or shipping settles a READY_TO_SHIP row (or no row yet) once, into
CANCELLED or DISPATCHED. Because a settled row stays behind, an OrderConfirmed delivered after
its OrderCancelled finds the row and creates nothing: out-of-order delivery can never revive a
cancelled shipment. The row follows the order's own decision (cancel and dispatch are
conditional writes on the order, and only one wins), so it is never both.
"""

from __future__ import annotations

import uuid
from typing import Any

from consumers.envelope import OrderEvent, utc_iso
from consumers.ports import Outcome, ShipmentRows
from orders.models import ShipmentStatus

_SHIPMENT_NAMESPACE = uuid.UUID("0b9f7c52-3f0e-4a77-8f8e-6b2f5d0c1a41")


def shipment_id_for(order_id: str) -> str:
    return str(uuid.uuid5(_SHIPMENT_NAMESPACE, order_id))


def new_shipment(event: OrderEvent) -> dict[str, Any]:
    """The row an OrderConfirmed creates (written only if the order has none)."""
    order = event.payload
    item: dict[str, Any] = {
        "order_id": order.order_id,
        "shipment_id": shipment_id_for(order.order_id),
        "status": ShipmentStatus.READY_TO_SHIP.value,
        "customer_id": order.customer_id,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.items],
        "created_at": utc_iso(event.occurred_at),
        "created_by_event": event.event_id,
    }
    if order.shipping_address is not None:
        item["ship_to"] = order.shipping_address.model_dump()
    return item


# The events that end a shipment's wait, and the status each settles it in.
SETTLED_BY: dict[str, ShipmentStatus] = {"OrderCancelled": ShipmentStatus.CANCELLED, "OrderShipped": ShipmentStatus.DISPATCHED}
_SETTLED_FIELDS = {ShipmentStatus.CANCELLED: "cancelled", ShipmentStatus.DISPATCHED: "dispatched"}


def settlement(event: OrderEvent, status: ShipmentStatus) -> dict[str, Any]:
    """The attributes a cancel or dispatch sets, on a waiting row or on a new tombstone row."""
    settled = _SETTLED_FIELDS[status]
    return {
        "shipment_id": shipment_id_for(event.payload.order_id),
        "status": status.value,
        "customer_id": event.payload.customer_id,
        f"{settled}_at": utc_iso(event.occurred_at),
        f"{settled}_by_event": event.event_id,
    }


def apply_to_shipment(event: OrderEvent, shipments: ShipmentRows) -> Outcome:
    """OrderConfirmed creates the row once; OrderCancelled / OrderShipped settle only a READY_TO_SHIP row
    (or leave a settled tombstone when none exists yet); a row already settled is never changed again."""
    if event.event_type == "OrderConfirmed":
        return shipments.put_once(new_shipment(event))
    status = SETTLED_BY.get(event.event_type)
    if status is None:
        return Outcome.SKIPPED
    return shipments.settle(event.payload.order_id, settlement(event, status), only_from=ShipmentStatus.READY_TO_SHIP.value)
