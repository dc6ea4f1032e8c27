"""The checkout through the local cloud: HTTP in; order state, stock, payment ledger and events out."""

from __future__ import annotations

import time

import pytest

from .conftest import Shop

pytestmark = pytest.mark.e2e


def _steps(order: dict) -> list[str]:
    return [h["step"] for h in order["history"]]


def test_happy_path_confirms_takes_stock_captures_and_announces(shop: Shop) -> None:
    sku = shop.put_product(stock=10, price_cents=1250)
    response = shop.post_order(
        {"customer_id": "cust-happy", "items": [{"sku": sku, "quantity": 3}], "payment_token": "tok_visa",
         "shipping_address": {"name": "A", "line1": "1 St", "city": "Paris", "postal_code": "75001", "country": "FR"}},
        headers={"X-Correlation-Id": "corr-happy-1"},
    )
    assert response.status_code == 202, response.text
    order_id = response.json()["order_id"]

    order = shop.wait_settled(order_id)
    assert (order["status"], order["reason"]) == ("CONFIRMED", None)
    assert order["total_cents"] == 3750 and order["items"][0]["unit_price_cents"] == 1250
    assert _steps(order) == ["PLACED", "PAYMENT_AUTHORIZED", "STOCK_RESERVED", "PAYMENT_CAPTURED", "CONFIRMED"]
    assert shop.stock(sku) == 7
    assert shop.ledger(order_id) == [("authorize", "approved"), ("capture", "approved")]

    confirmed = shop.events.wait_for(order_id, "OrderConfirmed")
    placed = shop.events.wait_for(order_id, "OrderPlaced")
    assert confirmed["correlation_id"] == placed["correlation_id"] == "corr-happy-1"
    assert confirmed["payload"]["total_cents"] == 3750 and "payment_token" not in confirmed["payload"]


def test_declined_payment_rejects_and_leaves_stock(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 2)], token="tok_declined")

    order = shop.wait_settled(order_id)
    assert (order["status"], order["reason"]) == ("REJECTED", "PAYMENT_DECLINED")
    assert shop.stock(sku) == 5
    assert shop.ledger(order_id) == [("authorize", "declined")]
    assert shop.events.wait_for(order_id, "OrderRejected")["payload"]["reason"] == "PAYMENT_DECLINED"
    assert "OrderConfirmed" not in [e["event_type"] for e in shop.events.events(order_id)]


def test_stock_gone_after_authorization_voids_it_exactly_once(shop: Shop) -> None:
    sku = shop.put_product(stock=1)
    shop.payments.hold_authorizations()
    try:
        order_id = shop.place([(sku, 1)])
        deadline = time.monotonic() + 15
        while shop.payments.waiting() == 0:  # the saga is now asking the provider
            assert time.monotonic() < deadline, "the saga never asked for an authorization"
            time.sleep(0.02)
        shop.set_stock(sku, 0)  # someone else took the last unit meanwhile
    finally:
        shop.payments.release_authorizations()

    order = shop.wait_settled(order_id)
    assert (order["status"], order["reason"]) == ("REJECTED", "OUT_OF_STOCK")
    assert shop.ledger(order_id) == [("authorize", "approved"), ("void", "approved")]
    assert [a["status"] for a in shop.authorizations(order_id)] == ["voided"]
    assert shop.stock(sku) == 0


def test_provider_timeout_rejects_and_never_charges(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 1)], token="tok_timeout")

    order = shop.wait_settled(order_id, timeout_s=60)
    assert (order["status"], order["reason"]) == ("REJECTED", "PAYMENT_TIMEOUT")
    # The provider did authorize (its answer came too late): found by reference and voided, once.
    assert shop.ledger(order_id) == [("authorize", "approved"), ("void", "approved")]
    assert shop.stock(sku) == 5


def test_slow_provider_is_retried_with_the_same_key_and_charges_once(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 1)], token="tok_slow")

    order = shop.wait_settled(order_id, timeout_s=60)
    assert order["status"] == "CONFIRMED"
    assert shop.ledger(order_id) == [("authorize", "approved"), ("capture", "approved")]


def test_same_post_twice_is_one_order_and_one_charge(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    body = {"customer_id": "cust-twice", "items": [{"sku": sku, "quantity": 1}], "payment_token": "tok_visa",
            "shipping_address": {"name": "A", "line1": "1 St", "city": "Paris", "postal_code": "75001", "country": "FR"}}
    before = shop.order_count()
    first = shop.post_order(body, key="twice-1")
    second = shop.post_order(body, key="twice-1")
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    order_id = first.json()["order_id"]
    assert shop.wait_settled(order_id)["status"] == "CONFIRMED"
    third = shop.post_order(body, key="twice-1")  # after the checkout: still the same answer, nothing new
    assert third.json()["order_id"] == order_id

    assert shop.order_count() == before + 1
    assert shop.ledger(order_id) == [("authorize", "approved"), ("capture", "approved")]
    assert shop.stock(sku) == 4
    conflict = shop.post_order({**body, "payment_token": "tok_mastercard"}, key="twice-1")
    assert conflict.status_code == 409 and "Idempotency-Key" in conflict.json()["message"]


@pytest.mark.parametrize("fresh_event_id", [False, True], ids=["same-event", "same-order-new-event-id"])
def test_saga_message_delivered_again_charges_once(shop: Shop, fresh_event_id: bool) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 1)])
    settled = shop.wait_settled(order_id)
    assert settled["status"] == "CONFIRMED"
    placed = shop.events.wait_for(order_id, "OrderPlaced")
    if fresh_event_id:  # past the per-record idempotency: the saga itself must hold
        placed = {**placed, "event_id": f"replayed-{placed['event_id']}"}

    shop.send_to_checkout(placed)

    assert shop.order(order_id) == settled
    assert shop.ledger(order_id) == [("authorize", "approved"), ("capture", "approved")]
    assert shop.stock(sku) == 4


def test_cancel_after_confirmation_refunds_and_restocks(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 2)])
    assert shop.wait_settled(order_id)["status"] == "CONFIRMED"
    assert shop.stock(sku) == 3

    response = shop.cancel(order_id)
    assert response.status_code == 202 and response.json()["status"] == "CANCEL_REQUESTED"
    order = shop.wait_status(order_id, "CANCELLED")
    assert order["reason"] == "CANCELLED_BY_CUSTOMER"
    assert _steps(order)[-4:] == ["CANCEL_REQUESTED", "STOCK_RELEASED", "PAYMENT_REFUNDED", "CANCELLED"]
    assert shop.stock(sku) == 5
    assert shop.ledger(order_id) == [("authorize", "approved"), ("capture", "approved"), ("refund", "approved")]
    assert shop.events.wait_for(order_id, "OrderCancelled")["payload"]["status"] == "CANCELLED"
    again = shop.cancel(order_id)
    assert again.status_code == 202 and again.json()["status"] == "CANCELLED"


def test_cancel_during_checkout_voids_and_never_captures(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    shop.payments.hold_authorizations()
    try:
        order_id = shop.place([(sku, 1)])
        deadline = time.monotonic() + 15
        while shop.payments.waiting() == 0:
            assert time.monotonic() < deadline, "the saga never asked for an authorization"
            time.sleep(0.02)
        assert shop.cancel(order_id).status_code == 202
    finally:
        shop.payments.release_authorizations()

    order = shop.wait_status(order_id, "CANCELLED")
    assert shop.ledger(order_id) == [("authorize", "approved"), ("void", "approved")]
    assert shop.stock(sku) == 5
    assert "OrderConfirmed" not in [e["event_type"] for e in shop.events.events(order_id)]


def test_cancel_is_refused_once_rejected_and_unknown_orders_are_404(shop: Shop) -> None:
    sku = shop.put_product(stock=5)
    order_id = shop.place([(sku, 1)], token="tok_insufficient_funds")
    assert shop.wait_settled(order_id)["status"] == "REJECTED"
    refused = shop.cancel(order_id)
    assert refused.status_code == 409 and "REJECTED" in refused.json()["message"]
    assert shop.cancel("no-such-order").status_code == 404
    assert shop.http.get(f"{shop.api_url}/orders/no-such-order", timeout=10).status_code == 404
