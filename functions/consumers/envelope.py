"""The one reader of the order-events envelope, for every consumer and for checkout.

Readers do not use the publisher's `EventEnvelope` (strict, for writing): each reads only the
fields it uses and ignores the rest, so the publisher can add fields without breaking anyone.
A schema version above the one understood here is refused (the record fails and ends in the
DLQ after retries) instead of being half-read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SUPPORTED_SCHEMA_VERSION = 1

# event_id and event_type become parts of S3 keys: keep them path-safe.
EVENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"
EVENT_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9]{0,63}$"


class UnsupportedSchemaVersion(ValueError):
    """The event comes from a newer publisher than this consumer understands."""


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Address(_Tolerant):
    name: str
    line1: str
    city: str
    postal_code: str
    country: str


class OrderLine(_Tolerant):
    sku: str
    name: str = ""
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class OrderSnapshot(_Tolerant):
    """The order as it was after the transition the event announces."""

    order_id: str
    customer_id: str
    status: str
    reason: str | None = None
    items: tuple[OrderLine, ...] = ()
    total_cents: int
    currency: str
    shipping_address: Address | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int


class EventHeader(_Tolerant):
    """What every event has whatever its payload: enough to route, de-duplicate and file it."""

    event_id: str = Field(pattern=EVENT_ID_PATTERN)
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN)
    schema_version: int = Field(ge=1)
    occurred_at: datetime
    correlation_id: str = ""

    @property
    def occurred_at_utc(self) -> datetime:
        """Naive timestamps are taken as UTC, as the publisher writes them."""
        ts = self.occurred_at
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class OrderEvent(EventHeader):
    payload: OrderSnapshot


class OrderRef(_Tolerant):
    order_id: str


class OrderCommand(EventHeader):
    """An event read only for the order it names (the checkout saga loads the order itself)."""

    payload: OrderRef


Event = TypeVar("Event", bound=EventHeader)


def envelope_text(body: str) -> str:
    """The envelope JSON from an SQS body, raw-delivered or still wrapped in an SNS notification.

    The subscriptions use raw delivery; unwrapping too keeps replayed or hand-made
    SNS-shaped messages (sam local generate-event) working.
    """
    doc = _json_object(body)
    if doc.get("Type") == "Notification" and isinstance(doc.get("Message"), str):
        return doc["Message"]
    return body


def read_header(body: str) -> EventHeader:
    """Route-level view of any event, whatever its schema version (the archive keeps them all)."""
    return EventHeader.model_validate(_json_object(envelope_text(body)))


def read_event(body: str, model: type[Event]) -> Event:
    """The event as `model` reads it; refuses schema versions newer than understood."""
    doc = _json_object(envelope_text(body))
    header = EventHeader.model_validate(doc)  # the version first: a newer payload may not even parse
    if header.schema_version > SUPPORTED_SCHEMA_VERSION:
        raise UnsupportedSchemaVersion(
            f"event {header.event_id!r} has schema_version {header.schema_version}; "
            f"this consumer understands up to {SUPPORTED_SCHEMA_VERSION}"
        )
    return model.model_validate(doc)


def read_order_event(body: str) -> OrderEvent:
    """The event with its order snapshot (what the fan-out consumers act on)."""
    return read_event(body, OrderEvent)


def utc_iso(ts: datetime) -> str:
    """One text form for timestamps we store, so they sort as strings (GSI range keys)."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_object(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
    return doc
