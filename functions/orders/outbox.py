"""Which order writes become domain events: the relay's decision, kept pure.

The orders table's stream is the outbox. An INSERT is a placed order; a write that changes the
status is a transition worth announcing; writes that only record a saga step are not. The
envelope is a function of the stored order alone (id from order+type+version, time from
`updated_at`), so republishing the same stream record yields the identical event.
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
