"""Analytics: one flat JSON object per event in a date-partitioned data lake.

The key is derived from the event alone and the record holds no ingestion time, so replaying
an event rewrites the identical object: the lake's record count is the count of distinct events.
"""

from __future__ import annotations

import json
from typing import Any

from consumers.envelope import OrderEvent, utc_iso
from consumers.ports import DerivedObjects, Outcome


def lake_key(event: OrderEvent) -> str:
    day = event.occurred_at_utc.date().isoformat()
    return f"analytics/dt={day}/event_type={event.event_type}/{event.event_id}.json"


def lake_record(event: OrderEvent) -> dict[str, Any]:
    order = event.payload
    return {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "occurred_at": utc_iso(event.occurred_at),
        "correlation_id": event.correlation_id,
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "reason": order.reason,
        "order_version": order.version,
        "currency": order.currency,
        "total_cents": order.total_cents,
        "item_count": sum(line.quantity for line in order.items),
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "line_total_cents": line.line_total_cents,
            }
            for line in order.items
        ],
        "country": order.shipping_address.country if order.shipping_address else None,
    }


def lake_object(event: OrderEvent) -> bytes:
    """JSON Lines-friendly bytes (one line), stable across replays."""
    return (json.dumps(lake_record(event), sort_keys=True, separators=(",", ":")) + "\n").encode()


def append_to_lake(event: OrderEvent, lake: DerivedObjects) -> Outcome:
    """A plain put: a replay rewrites the same key with the same bytes, so no condition is needed."""
    return lake.put(lake_key(event), lake_object(event))
