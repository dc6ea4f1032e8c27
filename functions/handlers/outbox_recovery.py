"""Outbox recovery: the automatic way back for what the relay gave up on, so no order is stranded.

The relay retries a failing stream batch for an hour (template: MaximumRecordAgeInSeconds), then
Lambda sends the batch's coordinates to RelayDLQ. This function has two ways in:

- **RelayDLQ** (SQS): each message is such an OnFailure record. The stream records it names are
  read back and their events published again, exactly as the relay would have (same event ids:
  consumers drop what they already had). The records' orders are then re-read, and any still
  waiting gets its `recovery_event` too. When the stream no longer holds the records (24 h), the
  message fails: it stays in RelayDLQ (14 days, alarmed) and the sweep below covers its orders.
- **a schedule**: the sweep. Orders left PENDING, REJECTING or CANCEL_REQUESTED longer than
  `OUTBOX_SWEEP_AFTER_S` get the event that sets them moving again (`orders.outbox.recovery_event`,
  rebuilt from the order row, not from stream coordinates). The threshold is longer than a
  checkout message can legitimately wait for its retries, and a republished event for an order
  still being worked on is harmless (checkout's idempotency and the saga's recorded progress).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.order_repository import DynamoOrderRepository
from adapters.order_stream import OrderStream, stream_event
from adapters.publisher import SnsEventPublisher
from orders.events import EventEnvelope
from orders.models import Order
from orders.outbox import WAITING, recovery_event

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.SQS)

_dynamodb = boto3.client("dynamodb")
orders = DynamoOrderRepository(_dynamodb, os.environ["ORDERS_TABLE"])
stream = OrderStream(boto3.client("dynamodbstreams"))
publisher = SnsEventPublisher(boto3.client("sns"), os.environ["ORDER_EVENTS_TOPIC_ARN"])
SWEEP_AFTER = timedelta(seconds=int(os.environ.get("OUTBOX_SWEEP_AFTER_S", "900")))


def _publish(envelope: EventEnvelope, order_id: str, why: str) -> None:
    publisher.publish_all([envelope])
    logger.info(why, extra={"event_type": envelope.event_type, "event_id": envelope.event_id, "order_id": order_id})


def _unstick(order: Order | None, why: str) -> bool:
    envelope = recovery_event(order) if order is not None else None
    if order is None or envelope is None:
        return False
    _publish(envelope, order.order_id, why)
    return True


def redrive(record: SQSRecord) -> None:
    """One relay OnFailure record: publish its batch again, then unstick any of its orders still waiting."""
    failure = json.loads(record.body)
    batch_info = failure["DDBStreamBatchInfo"]
    order_ids: list[str] = []
    for stream_record in stream.records(batch_info):
        order_ids.append(stream_record["dynamodb"]["Keys"]["order_id"]["S"])
        found = stream_event(stream_record)
        if found is not None:
            _publish(found[1], found[0].order_id, "relayed again from RelayDLQ")
    for order_id in dict.fromkeys(order_ids):
        _unstick(orders.get(order_id), "waiting order set moving again from RelayDLQ")


def sweep(now: datetime) -> int:
    """Republish the recovery event of every order waiting since before `now - SWEEP_AFTER`."""
    return sum(_unstick(order, "waiting order set moving again by the sweep") for order in orders.waiting(WAITING, updated_before=now - SWEEP_AFTER))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("source") == "aws.events":
        unstuck = sweep(datetime.now(UTC))
        logger.info("sweep done", extra={"orders_set_moving": unstuck})
        return {"orders_set_moving": unstuck}
    return process_partial_response(event=event, record_handler=redrive, processor=processor, context=context)
