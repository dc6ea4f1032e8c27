"""The warehouse's dispatch: a CONFIRMED order with a shipment ready becomes SHIPPED.

Dispatch and cancel are the two ways out of CONFIRMED, and each is one conditional write on the
order's status and version, so when they race exactly one wins and the loser changes nothing.
The order is the only thing written here: the shipment row follows it through the outbox, as it
does for confirm and cancel (OrderShipped -> the shipping consumer marks it DISPATCHED), so the
two can never disagree. Nothing talks to the payment provider: the payment was captured at commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from orders import state
from orders.models import Order, OrderStatus, Shipment, ShipmentStatus
from orders.ports import OrderRepository, Shipments, StaleOrder

# How often a dispatch re-reads after losing a conditional write before giving up.
MAX_ROUNDS = 5
SHIPPED_STEP = "SHIPPED"


@dataclass(frozen=True)
class Dispatched:
    """What a dispatch answers, read from the shipped order alone, so a repeat answers the same."""

    order: Order
    shipment_id: str
    dispatched_at: datetime

    @classmethod
    def of(cls, order: Order) -> Dispatched:
        entry = next(h for h in reversed(order.history) if h.step == SHIPPED_STEP)
        return cls(order=order, shipment_id=entry.detail or "", dispatched_at=entry.at)


class NothingToDispatch(LookupError):
    """No such order, or its shipment is not created yet (the shipping consumer does that on OrderConfirmed)."""


class NotDispatchable(Exception):
    def __init__(self, order: Order, shipment: Shipment | None):
        self.order = order
        self.shipment_status = shipment.status if shipment is not None else None
        what = f"order {order.order_id} is {order.status}"
        if self.shipment_status is not None:
            what += f", its shipment {self.shipment_status}"
        super().__init__(f"{what}: only a CONFIRMED order whose shipment is READY_TO_SHIP can be dispatched")


def dispatch(order_id: str, *, orders: OrderRepository, shipments: Shipments, clock: Callable[[], datetime]) -> Dispatched:
    """Ship the order; dispatching a shipped order again answers the same result.

    Raises `NothingToDispatch` (no order, or no shipment yet) and `NotDispatchable` (cancelled,
    rejected, still in checkout).
    """
    for _ in range(MAX_ROUNDS):
        order = orders.get(order_id)
        if order is None:
            raise NothingToDispatch(f"order {order_id} not found")
        if order.status is OrderStatus.SHIPPED:
            return Dispatched.of(order)
        shipment = shipments.get(order_id)
        if order.status is not OrderStatus.CONFIRMED:
            raise NotDispatchable(order, shipment)
        if shipment is None:
            raise NothingToDispatch(f"order {order_id} has no shipment yet")
        if shipment.status is not ShipmentStatus.READY_TO_SHIP:
            raise NotDispatchable(order, shipment)
        shipped = state.advance(order, OrderStatus.SHIPPED, step=SHIPPED_STEP, at=clock(), detail=shipment.shipment_id)
        try:
            orders.save(order, shipped)
        except StaleOrder:
            continue  # a cancel (or another dispatch) moved it: decide again on what is stored now
        return Dispatched.of(shipped)
    raise StaleOrder(f"order {order_id} kept changing while dispatching")
