"""Sample orders and the domain events about them, built with the domain's own models.

Orders are moved through `orders.state` exactly as the API and the saga move them, and events
are the relay's own envelopes (`orders.outbox` ids, JSON text as `SnsEventPublisher` sends it),
so every valid sample is valid by construction and a change of the domain shows up as a diff
of the generated files. The broken samples start from a valid one and break one thing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from consumers.envelope import read_order_event
from consumers.shipments import new_shipment, shipment_id_for
from orders import state
from orders.dispatch import SHIPPED_STEP
from orders.events import SCHEMA_VERSION, EventEnvelope, EventType, event_id_for
from orders.models import HistoryEntry, Order, OrderLine, OrderStatus, PaymentRecord, RejectReason, ShippingAddress

T0 = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1 9GU", country="GB")
ADDRESS_JSON: dict[str, str] = ADDRESS.model_dump()

Line = tuple[str, str, int, int]  # sku, name, quantity, unit price in cents


def placed(
    order_id: str, lines: Sequence[Line], *, customer_id: str = "cust-events", token: str = "tok_visa", at: datetime = T0
) -> Order:
    """A PENDING order as `place_order` writes it (version 1, one PLACED step)."""
    items = tuple(
        OrderLine(sku=sku, name=name, quantity=quantity, unit_price_cents=price, line_total_cents=price * quantity)
        for sku, name, quantity, price in lines
    )
    return Order(
        order_id=order_id,
        customer_id=customer_id,
        status=OrderStatus.PENDING,
        items=items,
        total_cents=sum(item.line_total_cents for item in items),
        currency="EUR",
        shipping_address=ADDRESS,
        payment_token=token,
        request_hash=hashlib.sha256(order_id.encode()).hexdigest(),
        correlation_id=f"corr-{order_id[:8]}",
        created_at=at,
        updated_at=at,
        history=(HistoryEntry(at=at, step="PLACED", status=OrderStatus.PENDING),),
    )


def _next(order: Order) -> datetime:
    return order.updated_at + timedelta(seconds=1)


def authorized(order: Order) -> Order:
    auth_id = f"auth_{order.order_id[:8]}"
    return state.record(
        order,
        step="PAYMENT_AUTHORIZED",
        at=_next(order),
        detail=f"{auth_id} {order.total_cents} {order.currency}",
        payment=PaymentRecord(authorization_id=auth_id, authorized_cents=order.total_cents),
    )


def reserved(order: Order) -> Order:
    return state.record(order, step="STOCK_RESERVED", at=_next(order), reserved=True)


def captured(order: Order) -> Order:
    return state.record(
        order,
        step="PAYMENT_CAPTURED",
        at=_next(order),
        detail=f"{order.total_cents} {order.currency}",
        payment=order.payment.model_copy(update={"captured_cents": order.total_cents}),
    )


def confirmed(order: Order) -> Order:
    """The saga's whole happy path: authorize, reserve, capture, CONFIRMED (version 5)."""
    done = captured(reserved(authorized(order)))
    return state.advance(done, OrderStatus.CONFIRMED, step="CONFIRMED", at=_next(done))


def cancel_requested(order: Order) -> Order:
    return state.advance(order, OrderStatus.CANCEL_REQUESTED, step="CANCEL_REQUESTED", at=_next(order))


def cancelled(order: Order) -> Order:
    return state.advance(
        order, OrderStatus.CANCELLED, step="CANCELLED", at=_next(order), reason=RejectReason.CANCELLED_BY_CUSTOMER
    )


def rejecting(order: Order, reason: RejectReason, detail: str) -> Order:
    return state.advance(order, OrderStatus.REJECTING, step="CHECKOUT_FAILED", at=_next(order), detail=detail, reason=reason)


def rejected(order: Order) -> Order:
    return state.advance(order, OrderStatus.REJECTED, step="REJECTED", at=_next(order), reason=order.reason)


def shipped(order: Order) -> Order:
    """As `orders.dispatch` ships it: the step names the shipment that left."""
    return state.advance(order, OrderStatus.SHIPPED, step=SHIPPED_STEP, at=_next(order), detail=shipment_id_for(order.order_id))


def shipment(confirmed: Order, status: str = "READY_TO_SHIP") -> dict[str, Any]:
    """The row the shipping consumer writes for the order's OrderConfirmed (`status` set after, if asked)."""
    row = new_shipment(read_order_event(text(envelope(confirmed, EventType.ORDER_CONFIRMED))))
    return {**row, "status": status}


def stored(order: Order) -> dict[str, Any]:
    """The order as the orders table holds it (and as a stream image carries it)."""
    return order.model_dump(mode="json")


def api_view(order: Order) -> dict[str, Any]:
    """What `GET /orders/{order_id}` answers for it."""
    return {**order.public_view(), "history": [entry.model_dump(mode="json") for entry in order.history]}


# --- events -------------------------------------------------------------------------------------


def envelope(order: Order, event_type: EventType | str) -> EventEnvelope:
    """The event the relay publishes for the order's latest write (`orders.outbox.event_for`)."""
    return EventEnvelope(
        event_id=event_id_for(order.order_id, event_type, order.version),
        event_type=event_type,
        occurred_at=order.updated_at,
        correlation_id=order.correlation_id,
        payload=order.public_view(),
    )


def text(event: EventEnvelope | dict[str, Any]) -> str:
    """The SNS message body, byte for byte as `SnsEventPublisher` sends it."""
    if isinstance(event, EventEnvelope):
        return event.model_dump_json()
    return json.dumps(event, separators=(",", ":"))


def attributes(event: EventEnvelope | dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The message attributes the publisher sets (and raw delivery copies onto the SQS message)."""
    doc = event.model_dump(mode="json") if isinstance(event, EventEnvelope) else event
    found = {}
    if "event_type" in doc:
        found["event_type"] = ("String", str(doc["event_type"]))
    if "schema_version" in doc:
        found["schema_version"] = ("Number", str(doc["schema_version"]))
    return found


def without(event: EventEnvelope, *paths: str) -> dict[str, Any]:
    """The event's JSON with fields removed ("occurred_at", "payload.total_cents")."""
    doc = event.model_dump(mode="json")
    for path in paths:
        *parents, leaf = path.split(".")
        target = doc
        for parent in parents:
            target = target[parent]
        del target[leaf]
    return doc


def from_the_future(order: Order, event_type: EventType) -> dict[str, Any]:
    """The same event as a newer publisher would send it: schema_version 2 and a field we do not know."""
    doc = envelope(order, event_type).model_dump(mode="json")
    doc["event_id"] = event_id_for(order.order_id, f"{event_type}@v{SCHEMA_VERSION + 1}", order.version)
    doc["schema_version"] = SCHEMA_VERSION + 1
    doc["payload"]["loyalty_points"] = 42
    return doc
