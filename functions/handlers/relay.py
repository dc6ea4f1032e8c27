"""Outbox relay: the orders table's stream in, one domain event per order transition out to SNS.

The order write is the only write the API and the saga make; this relay hands it on, so an order
and its event can never diverge. Records are handled in stream order and the batch stops at the
first failure: that record's sequence number is reported, and Lambda retries from there (a
republished event keeps its event id; consumers drop the duplicate). The batch's events go out
together with PublishBatch (adapters/publisher.py), up to 10 per call. After MaximumRetryAttempts
the batch goes to the relay DLQ (template: DestinationConfig.OnFailure). Metrics are counted
here because every transition passes here exactly once per successful publish.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.order_stream import stream_event
from adapters.publisher import PublishFailed, SnsEventPublisher
from orders.events import EventEnvelope, EventType
from orders.models import Order

logger = Logger()
tracer = Tracer()
metrics = Metrics()

publisher = SnsEventPublisher(boto3.client("sns"), os.environ["ORDER_EVENTS_TOPIC_ARN"])

_COUNTERS = {
    EventType.ORDER_PLACED: "OrdersPlaced",
    EventType.ORDER_CONFIRMED: "OrdersConfirmed",
    EventType.ORDER_REJECTED: "OrdersRejected",
    EventType.ORDER_CANCELLED: "OrdersCancelled",
    EventType.ORDER_SHIPPED: "OrdersShipped",
}


def _published(envelope: EventEnvelope, order: Order) -> None:
    logger.set_correlation_id(envelope.correlation_id)
    logger.info(
        "event published",
        extra={"event_type": envelope.event_type, "event_id": envelope.event_id, "order_id": order.order_id, "version": order.version},
    )
    _count(envelope, order.reason)


def _count(envelope: EventEnvelope, reason: str | None) -> None:
    name = _COUNTERS.get(EventType(envelope.event_type))
    if name is None:
        return
    if envelope.event_type == EventType.ORDER_REJECTED:
        with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
            metric.add_dimension(name="reason", value=reason or "UNKNOWN")
    else:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Read every record up to the first unreadable one, publish their events in order, report the first
    record whose event did not go out (or the unreadable one)."""
    events: list[tuple[dict[str, Any], EventEnvelope, Order]] = []
    unreadable: dict[str, Any] | None = None
    for record in event.get("Records", []):
        try:
            found = stream_event(record)
        except Exception:
            logger.exception("unreadable stream record", extra={"sequence_number": record["dynamodb"]["SequenceNumber"]})
            unreadable = record
            break
        if found is not None:
            order, envelope = found
            events.append((record, envelope, order))
    try:
        publisher.publish_all([envelope for _, envelope, _ in events])
        published = len(events)
    except PublishFailed as failure:
        published = failure.published
        logger.exception("publish failed", extra={"published": published, "of": len(events)})
    for _, envelope, order in events[:published]:
        _published(envelope, order)
    first_failed = events[published][0] if published < len(events) else unreadable
    if first_failed is None:
        return {"batchItemFailures": []}
    sequence = first_failed["dynamodb"]["SequenceNumber"]
    logger.warning("relay failed; Lambda retries the batch from this record", extra={"sequence_number": sequence})
    return {"batchItemFailures": [{"itemIdentifier": sequence}]}
