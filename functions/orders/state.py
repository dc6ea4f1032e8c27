"""The order state machine: the only way an `Order` changes.

Each change yields a new order with `version + 1` and one more history entry. The repository
writes it on condition that the stored order still has the *previous* status and version, so a
late or duplicated message can never move an order backwards (e.g. CONFIRMED -> REJECTED).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orders.models import HistoryEntry, Order, OrderStatus

S = OrderStatus

# A status may also "move" to itself: a saga step recorded while the order waits in that status.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.PENDING, S.CONFIRMED, S.REJECTING, S.CANCEL_REQUESTED}),
    S.CONFIRMED: frozenset({S.CANCEL_REQUESTED, S.SHIPPED}),
    # The two "undoing" states: whoever wrote them won the right to compensate; the saga that
    # finds an order in one of them (first run, duplicate or racing) finishes the job.
    S.REJECTING: frozenset({S.REJECTED}),
    S.CANCEL_REQUESTED: frozenset({S.CANCELLED}),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.SHIPPED: frozenset(),
}

CANCELLABLE: frozenset[OrderStatus] = frozenset({S.PENDING, S.CONFIRMED})


class IllegalTransition(Exception):
    def __init__(self, order: Order, to: OrderStatus):
        super().__init__(f"order {order.order_id}: {order.status} -> {to} is not allowed")
        self.order = order
        self.to = to


def can_move(current: OrderStatus, to: OrderStatus) -> bool:
    return to in TRANSITIONS[current]


def advance(
    order: Order,
    to: OrderStatus,
    *,
    step: str,
    at: datetime,
    detail: str | None = None,
    earlier: Sequence[HistoryEntry] = (),
    **changes: Any,
) -> Order:
    """The order after `step`, moved to `to` (which may be its current status).

    `earlier` are steps done on the way (e.g. compensations) that are written with this one,
    so a saga's last write tells the whole story at once.
    """
    if not can_move(order.status, to):
        raise IllegalTransition(order, to)
    entry = HistoryEntry(at=at, step=step, status=to, detail=detail)
    return order.model_copy(
        update={
            **changes,
            "status": to,
            "version": order.version + 1,
            "updated_at": at,
            "history": (*order.history, *earlier, entry),
        }
    )


def record(order: Order, *, step: str, at: datetime, detail: str | None = None, **changes: Any) -> Order:
    """A saga step done while the order keeps its status."""
    return advance(order, order.status, step=step, at=at, detail=detail, **changes)
