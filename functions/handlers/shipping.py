"""Shipping consumer: one shipment per confirmed order, cancelled or dispatched with its order.

Idempotency is the shipment row itself, through conditional writes (no idempotency table):
OrderConfirmed puts the row only if none exists; OrderCancelled / OrderShipped set CANCELLED /
DISPATCHED on a row still READY_TO_SHIP, creating a settled row when the confirmation has not
arrived yet, so a late OrderConfirmed can never create a live shipment for a settled order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from consumers.envelope import OrderEvent, read_order_event
from consumers.shipments import cancellation, dispatched, new_shipment
from orders.models import ShipmentStatus

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

shipments = boto3.resource("dynamodb").Table(os.environ["SHIPMENTS_TABLE"])


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    with logger.append_context_keys(
        correlation_id=event.correlation_id, event_id=event.event_id, event_type=event.event_type, order_id=event.payload.order_id
    ):
        if event.event_type == "OrderConfirmed":
            create_shipment(event)
        elif event.event_type in _SETTLED_BY:
            settle_shipment(event)
        else:
            logger.info("event type does not concern shipping; skipped")
            metrics.add_metric(name="EventsSkipped", unit=MetricUnit.Count, value=1)


def create_shipment(event: OrderEvent) -> None:
    try:
        shipments.put_item(Item=new_shipment(event), ConditionExpression="attribute_not_exists(order_id)")
    except ClientError as exc:
        _unless_condition_failed(exc, "order already has a shipment (or was cancelled first); nothing created")
        return
    logger.info("shipment created")
    metrics.add_metric(name="ShipmentsCreated", unit=MetricUnit.Count, value=1)


# The events that end a shipment's wait: the attributes each sets, and the metric it counts.
_SETTLED_BY: dict[str, tuple[Callable[[OrderEvent], dict[str, Any]], str]] = {
    "OrderCancelled": (cancellation, "ShipmentsCancelled"),
    "OrderShipped": (dispatched, "ShipmentsDispatched"),
}


def settle_shipment(event: OrderEvent) -> None:
    """Cancel or dispatch a waiting shipment, once; with no row yet (out of order), leave a settled one."""
    changes_of, metric = _SETTLED_BY[event.event_type]
    changes = changes_of(event)
    names = {f"#{k}": k for k in changes}
    values = {f":{k}": v for k, v in changes.items()}
    try:
        shipments.update_item(
            Key={"order_id": event.payload.order_id},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            # Only a shipment still waiting is settled: one already CANCELLED or DISPATCHED is the duplicate case
            # (never the other outcome: the order's own conditional writes let only one of cancel and dispatch win).
            ConditionExpression="attribute_not_exists(order_id) OR #status = :ready",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**values, ":ready": ShipmentStatus.READY_TO_SHIP.value},
        )
    except ClientError as exc:
        _unless_condition_failed(exc, "shipment already settled; nothing changed")
        return
    logger.info(f"shipment {changes['status'].lower()}")
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)


def _unless_condition_failed(exc: ClientError, message: str) -> None:
    """A failed condition is the duplicate/out-of-order case we designed for; anything else is retried."""
    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
        raise exc
    logger.info(message)
    metrics.add_metric(name="DuplicateEvents", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
