"""Events as the handlers receive them: an order event's envelope, and SQS batches of bodies."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from orders.events import EventEnvelope, EventType

from .lambda_context import REGION

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


def order_event(
    event_type: EventType, *, order_id: str = "ord-1", version: int = 2, status: str = "CONFIRMED", minutes: int = 0, **extra: Any
) -> str:
    """The published envelope (JSON) of one transition of a one-line order, `minutes` after T0."""
    payload = {
        "order_id": order_id,
        "customer_id": "cust-1",
        "status": status,
        "reason": extra.pop("reason", None),
        "items": [{"sku": "SKU-MUG", "name": "Mug", "quantity": 2, "unit_price_cents": 1250, "line_total_cents": 2500}],
        "total_cents": 2500,
        "currency": "EUR",
        "shipping_address": {"name": "Ada", "line1": "1 Loop St", "city": "Lyon", "postal_code": "69001", "country": "FR"},
        "created_at": T0.isoformat(),
        "updated_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "version": version,
        **extra,
    }
    return EventEnvelope.for_order(
        event_type, payload, version=version, correlation_id=f"corr-{order_id}", occurred_at=T0 + timedelta(minutes=minutes)
    ).model_dump_json()


def future_schema(body: str) -> str:
    """The same envelope from a publisher one schema version ahead."""
    doc = json.loads(body)
    doc["schema_version"] = 2
    return json.dumps(doc)


def sqs_batch(*bodies: str) -> dict[str, Any]:
    """An SQS event source batch (message ids msg-0, msg-1, ...) as Lambda delivers it."""
    return {
        "Records": [
            {
                "messageId": f"msg-{i}",
                "receiptHandle": f"rh-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1741082400000", "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1741082400001"},
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:consumer-queue",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


def failed_ids(response: dict[str, Any]) -> list[str]:
    """The message ids a partial batch response sends back to the queue."""
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]
