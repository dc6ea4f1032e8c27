"""Which order writes become domain events: the relay's decision, kept pure.

The orders table's stream is the outbox. An INSERT is a placed order; a write that changes the
status is a transition worth announcing; writes that only record a saga step are not. The
envelope is a function of the stored order alone (id from order+type+version, time from
`updated_at`), so republishing the same stream record yields the identical event.

`recovery_event` is the way back for an order the outbox lost (its stream batch given up on):
the event that sets an order left waiting moving again, rebuilt from the order row alone.
"""

from __future__ import annotations

from orders.events import EventEnvelope, EventType
from orders.models import Order, OrderStatus

EVENT_FOR_STATUS: dict[OrderStatus, EventType] = {
    OrderStatus.CONFIRMED: EventType.ORDER_CONFIRMED,
    OrderStatus.REJECTED: EventType.ORDER_REJECTED,
    OrderStatus.CANCEL_REQUESTED: EventType.ORDER_CANCEL_REQUESTED,
    OrderStatus.CANCELLED: EventType.ORDER_CANCELLED,
    OrderStatus.SHIPPED: EventType.ORDER_SHIPPED,
}


def event_for(old: Order | None, new: Order) -> EventEnvelope | None:
    """The event announcing the change from `old` (None for an insert) to `new`, if any."""
    if old is None:
        event_type: EventType | None = EventType.ORDER_PLACED
    elif old.status is new.status:
        return None
    else:
        event_type = EVENT_FOR_STATUS.get(new.status)
    if event_type is None:
        return None
    return EventEnvelope.for_order(
        event_type,
        new.public_view(),
        version=new.version,
        correlation_id=new.correlation_id,
        occurred_at=new.updated_at,
    )


# Statuses an order only leaves when the checkout saga runs for it: left there, it waits for an event.
WAITING: frozenset[OrderStatus] = frozenset({OrderStatus.PENDING, OrderStatus.REJECTING, OrderStatus.CANCEL_REQUESTED})


def recovery_event(order: Order) -> EventEnvelope | None:
    """The event that sets a waiting order moving again, or None for an order that is not waiting.

    PENDING or REJECTING: the `OrderPlaced` it was created with, identical to the original (version
    1, `created_at`, the order as placed), so a checkout that already handled it drops it by event
    id; the saga resumes from the order's recorded progress (and finishes a REJECTING undo).
    CANCEL_REQUESTED: `OrderCancelRequested` at the current version (steps recorded since then give
    it a new event id; the saga's cancel is safe to repeat).
    """
    if order.status in (OrderStatus.PENDING, OrderStatus.REJECTING):
        placed = order.model_copy(
            update={"status": OrderStatus.PENDING, "reason": None, "version": 1, "updated_at": order.created_at}
        )
        return event_for(None, placed)
    if order.status is OrderStatus.CANCEL_REQUESTED:
        return EventEnvelope.for_order(
            EventType.ORDER_CANCEL_REQUESTED,
            order.public_view(),
            version=order.version,
            correlation_id=order.correlation_id,
            occurred_at=order.updated_at,
        )
    return None
