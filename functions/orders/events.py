"""The domain events the order flow publishes, and their envelope.

Every consumer reads the same envelope, so routing (SNS filter policies on `event_type`),
de-duplication (`event_id`) and tracing (`correlation_id`) never depend on the payload.
`event_id` is derived from the order and the transition, so a re-published event (the
outbox relay runs at least once) carries the same id and consumers can drop it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
_EVENT_NAMESPACE = uuid.UUID("6f1d3c1e-8a4b-4f57-9a55-0c2b1c7e9d10")


class EventType(StrEnum):
    ORDER_PLACED = "OrderPlaced"
    ORDER_CONFIRMED = "OrderConfirmed"
    ORDER_REJECTED = "OrderRejected"
    ORDER_CANCELLED = "OrderCancelled"
    ORDER_CANCEL_REQUESTED = "OrderCancelRequested"
    ORDER_SHIPPED = "OrderShipped"


def event_id_for(order_id: str, event_type: EventType | str, version: int) -> str:
    """The same transition of the same order always gets the same id."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{order_id}:{event_type}:{version}"))


class EventEnvelope(BaseModel):
    """What goes on the order-events topic, in the SNS message body, as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    event_type: str
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)
    occurred_at: datetime
    correlation_id: str
    payload: dict[str, Any]

    @classmethod
    def for_order(
        cls,
        event_type: EventType,
        payload: dict[str, Any],
        *,
        version: int,
        correlation_id: str,
        occurred_at: datetime | None = None,
    ) -> EventEnvelope:
        return cls(
            event_id=event_id_for(payload["order_id"], event_type, version),
            event_type=event_type,
            occurred_at=occurred_at or datetime.now(UTC),
            correlation_id=correlation_id,
            payload=payload,
        )

    def message_attributes(self) -> dict[str, dict[str, str]]:
        """SNS message attributes the subscriptions' filter policies match on."""
        return {
            "event_type": {"DataType": "String", "StringValue": self.event_type},
            "schema_version": {"DataType": "Number", "StringValue": str(self.schema_version)},
        }
