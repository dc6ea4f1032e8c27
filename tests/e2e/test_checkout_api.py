"""Bad API input of each kind: a 4xx naming the problem, never a 5xx, and nothing written."""

from __future__ import annotations

import pytest

from .conftest import ADDRESS, Shop, order_body

pytestmark = pytest.mark.e2e

GOOD_SKU = "MUG-001"  # from the seeded catalog


def _valid() -> dict:
    return order_body([(GOOD_SKU, 1)])


CASES = [
    # (case id, body or raw text, headers, status, words the reason must contain)
    ("no-idempotency-key", _valid(), {"Idempotency-Key": ""}, 400, ["Idempotency-Key"]),
    ("malformed-json", "{not json", None, 400, ["JSON"]),
    ("empty-items", {**_valid(), "items": []}, None, 422, ["items"]),
    ("zero-quantity", {**_valid(), "items": [{"sku": GOOD_SKU, "quantity": 0}]}, None, 422, ["items.0.quantity"]),
    ("quantity-not-a-number", {**_valid(), "items": [{"sku": GOOD_SKU, "quantity": "two"}]}, None, 422, ["items.0.quantity"]),
    ("missing-customer-and-token", {k: v for k, v in _valid().items() if k not in ("customer_id", "payment_token")}, None, 422, ["customer_id", "payment_token"]),
    ("bad-country", {**_valid(), "shipping_address": {**ADDRESS, "country": "Britain"}}, None, 422, ["shipping_address.country"]),
    ("client-sent-a-price", {**_valid(), "items": [{"sku": GOOD_SKU, "quantity": 1, "unit_price_cents": 1}]}, None, 422, ["unit_price_cents"]),
    ("unknown-sku", order_body([(GOOD_SKU, 1), ("NO-SUCH-SKU", 2)]), None, 422, ["NO-SUCH-SKU"]),
    ("body-is-a-list", [_valid()], None, 422, ["body"]),
]


@pytest.mark.parametrize(("body", "headers", "status", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_4xx_with_a_reason_and_writes_nothing(shop: Shop, body, headers, status, words) -> None:  # type: ignore[no-untyped-def]
    before = shop.order_count()
    stock_before = shop.stock(GOOD_SKU)
    if isinstance(body, str):
        response = shop.http.post(
            f"{shop.api_url}/orders", data=body, headers={"Idempotency-Key": "raw-1", "Content-Type": "application/json"}, timeout=30
        )
    elif headers is not None and headers.get("Idempotency-Key") == "":
        response = shop.http.post(f"{shop.api_url}/orders", json=body, timeout=30)  # no header at all
    else:
        response = shop.post_order(body, headers=headers)

    assert response.status_code == status, response.text
    reason = response.json()
    assert "Traceback" not in response.text
    for word in words:
        assert word in reason["message"], reason
    assert shop.order_count() == before
    assert shop.stock(GOOD_SKU) == stock_before


def test_products_list_prices_and_units_available(shop: Shop) -> None:
    sku = shop.put_product(stock=7, price_cents=1999)
    products = {p["sku"]: p for p in shop.http.get(f"{shop.api_url}/products", timeout=30).json()}
    assert products[sku] | {"name": products[sku]["name"]} == {
        "sku": sku, "name": products[sku]["name"], "price_cents": 1999, "price": 19.99, "currency": "EUR", "stock": 7,
    }
    assert GOOD_SKU in products
