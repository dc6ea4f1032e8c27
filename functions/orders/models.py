"""The order's data: what a client sends, what the catalog holds, what we store.

Money is integer cents everywhere (no float rounding); prices come from the catalog, never
from the client. The stored `Order` is immutable: every change is a new value produced by the
state machine (`orders.state`), which is what lets the repository write it conditionally.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

MAX_LINES = 50
MAX_QUANTITY = 100


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTING = "REJECTING"
    REJECTED = "REJECTED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    CANCELLED = "CANCELLED"
    SHIPPED = "SHIPPED"


class RejectReason(StrEnum):
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    PAYMENT_TIMEOUT = "PAYMENT_TIMEOUT"
    PAYMENT_ERROR = "PAYMENT_ERROR"
    INVALID_CART = "INVALID_CART"
    CANCELLED_BY_CUSTOMER = "CANCELLED_BY_CUSTOMER"


class ShipmentStatus(StrEnum):
    READY_TO_SHIP = "READY_TO_SHIP"
    DISPATCHED = "DISPATCHED"
    CANCELLED = "CANCELLED"


# --- what the client sends ----------------------------------------------------------------------


class CartLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class ShippingAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: NonEmpty
    line1: NonEmpty
    city: NonEmpty
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")]


class OrderRequest(BaseModel):
    """The body of `POST /orders` (and of each line of a bulk import)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: NonEmpty
    items: list[CartLine] = Field(min_length=1, max_length=MAX_LINES)
    payment_token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    shipping_address: ShippingAddress


# --- what the catalog holds ---------------------------------------------------------------------


class Product(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    price_cents: int = Field(ge=0)
    currency: str = "EUR"
    stock: int = 0


# --- what we store ------------------------------------------------------------------------------


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class HistoryEntry(BaseModel):
    """One step of the order's journey, as `GET /orders/{id}` shows it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    step: str
    status: OrderStatus
    detail: str | None = None


class PaymentRecord(BaseModel):
    """What the saga learnt from the provider; the provider's ledger stays the source of truth."""

    model_config = ConfigDict(frozen=True)

    authorization_id: str | None = None
    authorized_cents: int = 0
    captured_cents: int = 0
    voided: bool = False
    refunded_cents: int = 0


class Order(BaseModel):
    model_config = ConfigDict(frozen=True)

    order_id: str
    customer_id: str
    status: OrderStatus
    reason: str | None = None
    items: tuple[OrderLine, ...]
    total_cents: int
    currency: str
    shipping_address: ShippingAddress
    payment_token: str
    request_hash: str
    correlation_id: str
    created_at: datetime
    updated_at: datetime
    version: int = 1
    reserved: bool = False
    payment: PaymentRecord = PaymentRecord()
    history: tuple[HistoryEntry, ...] = ()

    @property
    def quantities(self) -> dict[str, int]:
        return {line.sku: line.quantity for line in self.items}

    def public_view(self) -> dict[str, Any]:
        """The snapshot events and the API expose: no payment token, no internal hashes."""
        return self.model_dump(
            mode="json",
            include={
                "order_id",
                "customer_id",
                "status",
                "reason",
                "items",
                "total_cents",
                "currency",
                "shipping_address",
                "created_at",
                "updated_at",
                "version",
            },
        )


# --- what the warehouse holds -------------------------------------------------------------------


class Shipment(BaseModel):
    """What dispatching needs of a shipment row (the shipping consumer writes all of it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: str
    shipment_id: str
    status: ShipmentStatus
