"""The warehouse's dispatch: the shipment leaves and the order becomes SHIPPED, both or neither.

Dispatch and cancel are the two ways out of CONFIRMED, and both are conditional writes on the
order's status and version, so when they race exactly one wins. Dispatch writes the order and the
shipment in one transaction: a dispatch that loses to a cancel leaves the shipment READY_TO_SHIP
(the cancellation then marks it CANCELLED), and a cancel that loses finds the order SHIPPED.
Nothing talks to the payment provider here: the payment was captured at commit (docs/order-flow.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orders import state
from orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from orders.ports import OrderRepository, ShipmentRepository, StaleOrder

# How often a dispatch re-reads after losing a conditional write before giving up.
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Dispatched:
    order: Order
    shipment: Shipment


class NothingToDispatch(LookupError):
    """No such order, or its shipment is not created yet (the shipping consumer does that on OrderConfirmed)."""


class NotDispatchable(Exception):
    def __init__(self, order: Order, shipment: Shipment | None):
        shipment_status = shipment.status if shipment is not None else None
        what = f"order {order.order_id} is {order.status}"
        if shipment_status is not None:
            what += f", its shipment {shipment_status}"
        super().__init__(f"{what}: only a CONFIRMED order's READY_TO_SHIP shipment can be dispatched")
        self.order = order
        self.shipment_status = shipment_status


def dispatch(
    order_id: str, *, orders: OrderRepository, shipments: ShipmentRepository, clock: Callable[[], datetime]
) -> Dispatched:
    """Dispatch the order's shipment; dispatching it again answers the same result.

    Raises `NothingToDispatch` (no order, or no shipment yet) and `NotDispatchable` (cancelled,
    rejected, still in checkout: any state but CONFIRMED + READY_TO_SHIP, or the done pair).
    """
    for _ in range(MAX_ROUNDS):
        order = orders.get(order_id)
        if order is None:
            raise NothingToDispatch(f"order {order_id} not found")
        shipment = shipments.get(order_id)
        if order.status is OrderStatus.SHIPPED and shipment is not None and shipment.status is ShipmentStatus.DISPATCHED:
            return Dispatched(order, shipment)
        if order.status is not OrderStatus.CONFIRMED:
            raise NotDispatchable(order, shipment)
        if shipment is None:
            raise NothingToDispatch(f"order {order_id} has no shipment yet")
        if shipment.status is not ShipmentStatus.READY_TO_SHIP:
            raise NotDispatchable(order, shipment)
        at = _millis(clock())
        shipped = state.advance(order, OrderStatus.SHIPPED, step="SHIPPED", at=at, detail=shipment.shipment_id)
        dispatched = shipment.model_copy(update={"status": ShipmentStatus.DISPATCHED, "dispatched_at": at})
        try:
            shipments.dispatch(order, shipped, dispatched)
        except StaleOrder:
            continue  # a cancel (or another dispatch) moved one of them: decide again on what is stored now
        return Dispatched(shipped, dispatched)
    raise StaleOrder(f"order {order_id} kept changing while dispatching")


def _millis(at: datetime) -> datetime:
    """Shipment rows keep millisecond timestamps, so a repeated dispatch reads back exactly the first answer."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
