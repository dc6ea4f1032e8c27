"""Pricing, cart rules, the state machine and the outbox mapping: plain Python, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from orders import state
from orders.cart import InvalidCart, check_fulfillable
from orders.events import EventType, event_id_for
from orders.models import CartLine, Order, OrderStatus, RejectReason
from orders.outbox import event_for
from orders.pricing import price_cart
from orders.service import place_order

from .conftest import PRODUCTS, order_request
from .fakes import Orders, Stock

CATALOG = {p.sku: p for p in PRODUCTS}


def test_prices_come_from_the_catalog_and_duplicate_lines_merge() -> None:
    lines, total, currency = price_cart(
        [CartLine(sku="MUG-1", quantity=1), CartLine(sku="TEE-1", quantity=1), CartLine(sku="MUG-1", quantity=2)], CATALOG
    )
    assert [(line.sku, line.quantity, line.unit_price_cents, line.line_total_cents) for line in lines] == [
        ("MUG-1", 3, 1250, 3750),
        ("TEE-1", 1, 2000, 2000),
    ]
    assert (total, currency) == (5750, "EUR")


def test_unknown_skus_are_all_named() -> None:
    with pytest.raises(InvalidCart) as err:
        price_cart([CartLine(sku="NOPE-2", quantity=1), CartLine(sku="MUG-1", quantity=1), CartLine(sku="NOPE-1", quantity=1)], CATALOG)
    assert err.value.skus == ("NOPE-1", "NOPE-2")
    assert "NOPE-1" in str(err.value)


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(InvalidCart, match="currencies"):
        price_cart([CartLine(sku="MUG-1", quantity=1), CartLine(sku="USD-1", quantity=1)], CATALOG)


def test_merged_quantity_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidCart, match="MUG-1"):
        price_cart([CartLine(sku="MUG-1", quantity=60), CartLine(sku="MUG-1", quantity=60)], CATALOG)


def test_fulfillable_names_short_and_gone_skus_with_their_reason() -> None:
    with pytest.raises(InvalidCart) as short:
        check_fulfillable({"TEE-1": 4}, CATALOG)
    assert (short.value.reason, short.value.skus) == (RejectReason.OUT_OF_STOCK, ("TEE-1",))
    with pytest.raises(InvalidCart) as gone:
        check_fulfillable({"GONE": 1}, CATALOG)
    assert gone.value.reason == RejectReason.INVALID_CART
    check_fulfillable({"TEE-1": 3, "MUG-1": 10}, CATALOG)  # exactly the stock is fine


@pytest.mark.parametrize(
    ("body_change", "bad_field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"sku": "MUG-1", "quantity": 0}]}, "quantity"),
        ({"payment_token": ""}, "payment_token"),
        ({"shipping_address": {"name": "A", "line1": "l", "city": "c", "postal_code": "1", "country": "FRA"}}, "country"),
        ({"unit_price_cents": 1}, "unit_price_cents"),
    ],
)
def test_request_validation_names_the_bad_field(body_change: dict, bad_field: str) -> None:
    body = order_request().model_dump() | body_change
    with pytest.raises(ValidationError) as err:
        type(order_request()).model_validate(body)
    assert bad_field in str(err.value)


AT = datetime(2030, 1, 2, tzinfo=UTC)


def _order(status: OrderStatus = OrderStatus.PENDING) -> Order:
    orders = Orders()
    order = place_order(
        order_request(), idempotency_key="k", catalog=Stock(PRODUCTS), orders=orders, correlation_id="c", now=datetime(2030, 1, 1, tzinfo=UTC)
    )
    return order.model_copy(update={"status": status})


def test_advance_bumps_version_and_appends_history() -> None:
    order = _order()

    confirmed = state.advance(order, OrderStatus.CONFIRMED, step="CONFIRMED", at=AT)
    assert (confirmed.status, confirmed.version, confirmed.updated_at) == (OrderStatus.CONFIRMED, order.version + 1, AT)
    assert [h.step for h in confirmed.history] == ["PLACED", "CONFIRMED"]
    assert order.status is OrderStatus.PENDING  # the original is untouched


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (OrderStatus.CONFIRMED, OrderStatus.REJECTING),
        (OrderStatus.CONFIRMED, OrderStatus.PENDING),
        (OrderStatus.REJECTED, OrderStatus.CONFIRMED),
        (OrderStatus.CANCELLED, OrderStatus.CANCEL_REQUESTED),
        (OrderStatus.SHIPPED, OrderStatus.CANCEL_REQUESTED),
        (OrderStatus.PENDING, OrderStatus.CANCELLED),
    ],
)
def test_illegal_transitions_are_refused(start: OrderStatus, to: OrderStatus) -> None:
    with pytest.raises(state.IllegalTransition):
        state.advance(_order(start), to, step="x", at=AT)


def test_outbox_announces_inserts_and_status_changes_only() -> None:
    placed = _order()

    step = state.record(placed, step="PAYMENT_AUTHORIZED", at=AT)
    confirmed = state.advance(step, OrderStatus.CONFIRMED, step="CONFIRMED", at=AT)

    inserted = event_for(None, placed)
    assert inserted is not None and inserted.event_type == EventType.ORDER_PLACED
    assert event_for(placed, step) is None
    event = event_for(step, confirmed)
    assert event is not None
    assert event.event_type == EventType.ORDER_CONFIRMED
    assert event.event_id == event_id_for(placed.order_id, EventType.ORDER_CONFIRMED, confirmed.version)
    assert event.correlation_id == placed.correlation_id
    assert "payment_token" not in event.payload and event.payload["status"] == "CONFIRMED"
    assert event_for(step, confirmed) == event  # republishing yields the identical envelope
    rejecting = state.advance(step, OrderStatus.REJECTING, step="CHECKOUT_FAILED", at=AT)
    assert event_for(step, rejecting) is None  # an intermediate state is not announced
