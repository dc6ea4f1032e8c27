"""Placing and cancelling orders: what the API (and the bulk import) do, without HTTP or AWS.

Placing is idempotent by construction: the order id is derived from the idempotency key, and the
order is created with a conditional write. A retry after a crash therefore finds the order it
already wrote instead of creating a second one; the same key with a different body is refused.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import datetime

from orders import state
from orders.cart import InvalidCart
from orders.models import HistoryEntry, Order, OrderRequest, OrderStatus
from orders.ports import Catalog, OrderRepository, StaleOrder
from orders.pricing import price_cart

_ORDER_NAMESPACE = uuid.UUID("2b7e4f0c-5d1a-4c8e-9a3b-7f6e5d4c3b2a")


class IdempotencyConflict(Exception):
    """The idempotency key was used before with a different request."""


class OrderNotCancellable(Exception):
    def __init__(self, order: Order):
        super().__init__(f"order {order.order_id} is {order.status} and can no longer be cancelled")
        self.order = order


def order_id_for(idempotency_key: str) -> str:
    return str(uuid.uuid5(_ORDER_NAMESPACE, idempotency_key))


def request_hash(request: OrderRequest) -> str:
    """A stable digest of what the client asked for (after validation and normalisation)."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def place_order(
    request: OrderRequest,
    *,
    idempotency_key: str,
    catalog: Catalog,
    orders: OrderRepository,
    correlation_id: str,
    now: datetime,
) -> Order:
    """The PENDING order for this request, created once per idempotency key.

    Raises `InvalidCart` (unknown sku, mixed currencies) before writing anything, and
    `IdempotencyConflict` when the key already placed a different order.

    The create is tried first: it is conditional on the order not existing, so the write itself
    tells whether the key was used before, and the order is read only then (one call per new
    order instead of a read and a write). A key whose order exists is answered with it even if
    its cart no longer prices (the catalog changed since), as before.
    """
    order_id = order_id_for(idempotency_key)
    digest = request_hash(request)
    try:
        lines, total, currency = price_cart(request.items, catalog.products({line.sku for line in request.items}))
    except InvalidCart:
        existing = orders.get(order_id)
        if existing is None:
            raise
    else:
        order = Order(
            order_id=order_id,
            customer_id=request.customer_id,
            status=OrderStatus.PENDING,
            items=lines,
            total_cents=total,
            currency=currency,
            shipping_address=request.shipping_address,
            payment_token=request.payment_token,
            request_hash=digest,
            correlation_id=correlation_id,
            created_at=now,
            updated_at=now,
            history=(HistoryEntry(at=now, step="PLACED", status=OrderStatus.PENDING),),
        )
        if orders.create(order):
            return order
        existing = orders.get(order_id)  # placed before, or by a concurrent request with the same key
        assert existing is not None, "create() refused because the order exists"
    if existing.request_hash != digest:
        raise IdempotencyConflict(f"Idempotency-Key was already used for a different order ({existing.order_id})")
    return existing


def visible_to(order: Order | None, customer: str | None) -> Order | None:
    """The order if `customer` may see it, else None: an order is its customer's alone.

    `customer` None means no one is authenticated (ApiAuth=NONE, the local cloud), where every order
    is visible. Someone else's order is indistinguishable from a missing one (a 404, never a 403), so
    order ids cannot be probed.
    """
    if order is None or (customer is not None and order.customer_id != customer):
        return None
    return order


def request_cancel(
    order_id: str, *, orders: OrderRepository, clock: Callable[[], datetime], customer: str | None = None
) -> Order | None:
    """Mark the order CANCEL_REQUESTED (the saga compensates on the event); None when absent or not `customer`'s.

    Asking again while the cancel is under way or done answers the same order.
    """
    for _ in range(5):
        order = visible_to(orders.get(order_id), customer)
        if order is None:
            return None
        if order.status in (OrderStatus.CANCEL_REQUESTED, OrderStatus.CANCELLED):
            return order
        if order.status not in state.CANCELLABLE:
            raise OrderNotCancellable(order)
        new = state.advance(order, OrderStatus.CANCEL_REQUESTED, step="CANCEL_REQUESTED", at=clock())
        try:
            orders.save(order, new)
            return new
        except StaleOrder:
            continue  # the saga moved it meanwhile: decide again on the fresh status
    raise StaleOrder(f"order {order_id} kept changing while cancelling")
