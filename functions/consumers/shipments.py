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


def cancellation(event: OrderEvent) -> dict[str, Any]:
    """The attributes an OrderCancelled sets, on an existing row or on a new tombstone row."""
    return {
        "shipment_id": shipment_id_for(event.payload.order_id),
        "status": ShipmentStatus.CANCELLED.value,
        "customer_id": event.payload.customer_id,
        "cancelled_at": utc_iso(event.occurred_at),
        "cancelled_by_event": event.event_id,
    }


def dispatched(event: OrderEvent) -> dict[str, Any]:
    """The attributes an OrderShipped sets (the warehouse dispatched it: orders.dispatch)."""
    return {
        "shipment_id": shipment_id_for(event.payload.order_id),
        "status": ShipmentStatus.DISPATCHED.value,
        "customer_id": event.payload.customer_id,
        "dispatched_at": utc_iso(event.occurred_at),
        "dispatched_by_event": event.event_id,
    }
