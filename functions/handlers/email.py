"""Email consumer: stores the customer's receipt for OrderConfirmed, OrderCancelled and OrderShipped.

Idempotency is the S3 conditional put (If-None-Match: *) on a key derived from the order and
event type: a duplicate delivery gets 412 and writes nothing. No idempotency table is needed
because the receipt object itself is the record of having done the work.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from consumers.envelope import OrderEvent, read_order_event
from consumers.receipts import RECEIPT_EVENT_TYPES, receipt_key, render_receipt

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

RECEIPTS_BUCKET = os.environ["RECEIPTS_BUCKET"]
s3 = boto3.client("s3")


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    with logger.append_context_keys(
        correlation_id=event.correlation_id, event_id=event.event_id, event_type=event.event_type, order_id=event.payload.order_id
    ):
        store_receipt(event)


def store_receipt(event: OrderEvent) -> None:
    if event.event_type not in RECEIPT_EVENT_TYPES:
        logger.info("event type has no receipt; skipped")
        metrics.add_metric(name="EventsSkipped", unit=MetricUnit.Count, value=1)
        return
    key = receipt_key(event.payload.order_id, event.event_type)
    try:
        s3.put_object(
            Bucket=RECEIPTS_BUCKET,
            Key=key,
            Body=render_receipt(event).encode(),
            ContentType="text/html; charset=utf-8",
            IfNoneMatch="*",
            Metadata={"event-id": event.event_id},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "PreconditionFailed":
            raise
        logger.info("receipt already stored; duplicate delivery", extra={"key": key})
        metrics.add_metric(name="DuplicateEvents", unit=MetricUnit.Count, value=1)
        return
    logger.info("receipt stored", extra={"key": key})
    metrics.add_metric(name="ReceiptsStored", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
