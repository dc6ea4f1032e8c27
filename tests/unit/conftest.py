"""Shared fixtures for the domain tests: a catalog, a world of in-memory ports, an order factory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from orders.models import OrderRequest, Product
from orders.saga import CheckoutPorts
from orders.service import place_order

from .fakes import Clock, LedgerPayments, Orders, Stock

PRODUCTS = (
    Product(sku="MUG-1", name="Mug", price_cents=1250, currency="EUR", stock=10),
    Product(sku="TEE-1", name="T-shirt", price_cents=2000, currency="EUR", stock=3),
    Product(sku="USD-1", name="Imported", price_cents=999, currency="USD", stock=5),
)


def order_request(token: str = "tok_visa", items: list[dict] | None = None, customer: str = "c-1") -> OrderRequest:
    return OrderRequest.model_validate(
        {
            "customer_id": customer,
            "items": items or [{"sku": "MUG-1", "quantity": 2}, {"sku": "TEE-1", "quantity": 1}],
            "payment_token": token,
            "shipping_address": {"name": "Ada", "line1": "1 Loop St", "city": "Paris", "postal_code": "75001", "country": "fr"},
        }
    )


@dataclass
class World:
    orders: Orders
    stock: Stock
    payments: LedgerPayments
    clock: Clock

    @property
    def ports(self) -> CheckoutPorts:
        return CheckoutPorts(orders=self.orders, catalog=self.stock, inventory=self.stock, payments=self.payments, clock=self.clock)

    def place(self, key: str = "key-1", **request_args) -> str:  # type: ignore[no-untyped-def]
        order = place_order(
            order_request(**request_args),
            idempotency_key=key,
            catalog=self.stock,
            orders=self.orders,
            correlation_id=f"corr-{key}",
            now=self.clock(),
        )
        return order.order_id


@pytest.fixture
def world() -> World:
    orders = Orders()
    return World(orders=orders, stock=Stock(PRODUCTS), payments=LedgerPayments(), clock=Clock())
