"""The small interfaces the domain needs from the outside world.

The saga and the order service are written against these; `adapters/` holds one AWS/HTTP
implementation of each, and unit tests use in-memory fakes. Errors a port may raise are part of
its contract, so they live here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from orders.events import EventEnvelope
from orders.models import Order, Product, Shipment


class StaleOrder(Exception):
    """The stored order is no longer the one the write was based on (status or version moved)."""


class OutOfStock(Exception):
    def __init__(self, skus: Iterable[str]):
        self.skus = tuple(sorted(skus))
        super().__init__(f"not enough stock: {', '.join(self.skus)}")


class OrderRepository(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def create(self, order: Order) -> bool:
        """Write a new order; False (and nothing written) when that order id exists."""
        ...

    def save(self, previous: Order, new: Order) -> None:
        """Write `new` if the stored order still has `previous`'s status and version, else `StaleOrder`."""
        ...


class Shipments(Protocol):
    """Read-only: the shipping consumer writes shipment rows, following the order's events."""

    def get(self, order_id: str) -> Shipment | None: ...


class Catalog(Protocol):
    def products(self, skus: Iterable[str]) -> dict[str, Product]:
        """The products among `skus` that exist (unknown skus are simply absent)."""
        ...

    def all_products(self) -> list[Product]: ...


class Inventory(Protocol):
    def reserve(self, order: Order) -> bool:
        """In ONE transaction: take every line from stock (never below zero) and record the
        reservation — all or nothing. False (and nothing taken) when this order already holds
        its reservation, so a replay is harmless. Raises `OutOfStock` naming the short skus.
        """
        ...

    def release(self, order_id: str) -> bool:
        """Give a reservation's units back; True if this call released it, False if there was none."""
        ...


class AuthorizationStatus(StrEnum):
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"


class Authorization(BaseModel):
    """The provider's view of one authorization (as returned by every payment call)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    reference: str
    status: AuthorizationStatus
    amount_cents: int
    currency: str
    captured_cents: int = 0
    refunded_cents: int = 0
    decline_code: str | None = None


class PaymentDeclined(Exception):
    def __init__(self, decline_code: str):
        super().__init__(f"payment declined: {decline_code}")
        self.decline_code = decline_code


class PaymentTimeout(Exception):
    """No answer within the timeout, retries included: the outcome at the provider is unknown."""


class PaymentError(Exception):
    """The provider refused the operation (e.g. capture after void) or failed."""


class PaymentProvider(Protocol):
    """Every call carries an idempotency key: repeating it returns the first result, never a second charge."""

    def authorize(
        self, *, idempotency_key: str, reference: str, amount_cents: int, currency: str, token: str
    ) -> Authorization: ...

    def capture(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization: ...

    def void(self, authorization_id: str, *, idempotency_key: str) -> Authorization: ...

    def refund(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization: ...

    def authorizations(self, reference: str) -> list[Authorization]:
        """Every authorization made for `reference`: how a saga learns the outcome of a call that timed out."""
        ...


class EventPublisher(Protocol):
    def publish(self, envelope: EventEnvelope) -> None: ...
