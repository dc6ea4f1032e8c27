"""In-memory implementations of the domain's and the consumers' ports, with the same guarantees as the real ones.

The payment fake drives the sandbox's own `Ledger` (the provider's rules), so domain tests and
end-to-end tests agree on what a provider does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from consumers.ports import Outcome

from orders.models import Order, Product, Shipment
from orders.ports import Authorization, OutOfStock, PaymentDeclined, PaymentError, PaymentTimeout, StaleOrder
from payment_ledger.ledger import Ledger


class Clock:
    """A clock that ticks one millisecond per reading: deterministic, ordered history."""

    def __init__(self, start: datetime = datetime(2030, 1, 1, tzinfo=UTC)) -> None:
        self._now = start

    def __call__(self) -> datetime:
        self._now += timedelta(milliseconds=1)
        return self._now


def once(hook: Callable[[Order, Order], None], when: Callable[[Order], bool] = lambda new: True) -> Callable[[Order, Order], None]:
    """A save hook that fires on the first save of an order matching `when`, then never again."""
    fired = False

    def fire(previous: Order, new: Order) -> None:
        nonlocal fired
        if not fired and when(new):
            fired = True
            hook(previous, new)

    return fire


class Orders:
    def __init__(self) -> None:
        self.items: dict[str, Order] = {}
        self.writes = 0
        self.before_save: Callable[[Order, Order], None] | None = None
        self._lock = threading.RLock()

    def get(self, order_id: str) -> Order | None:
        return self.items.get(order_id)

    def create(self, order: Order) -> bool:
        with self._lock:
            if order.order_id in self.items:
                return False
            self.items[order.order_id] = order
            self.writes += 1
            return True

    def save(self, previous: Order, new: Order) -> None:
        if self.before_save is not None:
            self.before_save(previous, new)
        with self._lock:
            self.check(previous)
            self.items[new.order_id] = new
            self.writes += 1

    def check(self, previous: Order) -> None:
        stored = self.items.get(previous.order_id)
        if stored is None or (stored.status, stored.version) != (previous.status, previous.version):
            raise StaleOrder(previous.order_id)


class Shipments:
    """Shipment rows by order id, as the shipping consumer would have written them."""

    def __init__(self) -> None:
        self.items: dict[str, Shipment] = {}

    def get(self, order_id: str) -> Shipment | None:
        return self.items.get(order_id)


class Objects:
    """A bucket: `put_once` keeps the first object under a key (S3's If-None-Match: *), `put` replaces it.

    `writes` counts the puts that stored bytes, so a test can tell a skipped duplicate from an
    identical rewrite.
    """

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.metadata: dict[str, dict[str, str]] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def put_once(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> Outcome:
        with self._lock:
            if key in self.objects:
                return Outcome.DUPLICATE
            self.metadata[key] = dict(metadata or {})
            return self.put(key, body)

    def put(self, key: str, body: bytes) -> Outcome:
        self.objects[key] = body
        self.writes += 1
        return Outcome.WRITTEN


class Documents:
    """The search table: a document is replaced only by a newer version."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_if_newer(self, document: dict[str, Any], version: int) -> Outcome:
        stored = self.items.get(document["order_id"])
        if stored is not None and stored["version"] >= version:
            return Outcome.STALE
        self.items[document["order_id"]] = dict(document)
        return Outcome.WRITTEN


class ShipmentRows:
    """The shipments table as the shipping consumer writes it: rows by order id."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_once(self, row: dict[str, Any]) -> Outcome:
        if row["order_id"] in self.items:
            return Outcome.DUPLICATE
        self.items[row["order_id"]] = dict(row)
        return Outcome.WRITTEN

    def settle(self, order_id: str, changes: dict[str, Any], *, only_from: str) -> Outcome:
        row = self.items.get(order_id)
        if row is not None and row["status"] != only_from:
            return Outcome.DUPLICATE
        self.items[order_id] = {**(row or {"order_id": order_id}), **changes}
        return Outcome.WRITTEN


class Stock:
    """Catalog + inventory over one dict of products, reservations keyed by order id."""

    def __init__(self, products: Iterable[Product]) -> None:
        self.catalog = {p.sku: p for p in products}
        self.reservations: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def products(self, skus: Iterable[str]) -> dict[str, Product]:
        return {sku: self.catalog[sku] for sku in skus if sku in self.catalog}

    def all_products(self) -> list[Product]:
        return sorted(self.catalog.values(), key=lambda p: p.sku)

    def stock(self, sku: str) -> int:
        return self.catalog[sku].stock

    def set_stock(self, sku: str, stock: int) -> None:
        self.catalog[sku] = self.catalog[sku].model_copy(update={"stock": stock})

    def reserve(self, order: Order) -> bool:
        with self._lock:
            if order.order_id in self.reservations:
                return False
            short = [sku for sku, q in order.quantities.items() if sku not in self.catalog or self.catalog[sku].stock < q]
            if short:
                raise OutOfStock(short)
            for sku, q in order.quantities.items():
                self.set_stock(sku, self.catalog[sku].stock - q)
            self.reservations[order.order_id] = dict(order.quantities)
            return True

    def release(self, order_id: str) -> bool:
        with self._lock:
            lines = self.reservations.pop(order_id, None)
            if lines is None:
                return False
            for sku, q in lines.items():
                self.set_stock(sku, self.catalog[sku].stock + q)
            return True


class LedgerPayments:
    """The `PaymentProvider` port over the sandbox's rules; a hanging answer becomes a timeout."""

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.ledger = ledger or Ledger()

    def authorize(self, *, idempotency_key: str, reference: str, amount_cents: int, currency: str, token: str) -> Authorization:
        answer = self.ledger.authorize(idempotency_key, amount_cents=amount_cents, currency=currency, token=token, reference=reference)
        if answer.hang:
            raise PaymentTimeout("authorize timed out")
        if answer.status == 402:
            raise PaymentDeclined(answer.body["decline_code"])
        return self._ok(answer)

    def capture(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        return self._ok(self.ledger.capture(idempotency_key, authorization_id, amount_cents=amount_cents))

    def void(self, authorization_id: str, *, idempotency_key: str) -> Authorization:
        return self._ok(self.ledger.void(idempotency_key, authorization_id))

    def refund(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        return self._ok(self.ledger.refund(idempotency_key, authorization_id, amount_cents=amount_cents))

    def authorizations(self, reference: str) -> list[Authorization]:
        return [Authorization.model_validate(a) for a in self.ledger.find(reference)]

    def operations(self, reference: str) -> list[str]:
        return [e["operation"] for e in self.ledger.entries() if e["reference"] == reference]

    @staticmethod
    def _ok(answer) -> Authorization:  # type: ignore[no-untyped-def]
        if answer.status not in (200, 201):
            raise PaymentError(str(answer.body))
        return Authorization.model_validate(answer.body)
