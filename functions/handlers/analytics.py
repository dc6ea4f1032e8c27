"""Analytics consumer: every order event becomes one object in the date-partitioned lake.

Idempotency is by construction (no table, no condition): the key and the bytes depend only on
the event, so a redelivery overwrites the object with identical content and the lake's record
count is unchanged.
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

from consumers.envelope import read_order_event
from consumers.lake import lake_key, lake_object

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

DATA_LAKE_BUCKET = os.environ["DATA_LAKE_BUCKET"]
s3 = boto3.client("s3")


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    key = lake_key(event)
    with logger.append_context_keys(correlation_id=event.correlation_id, event_id=event.event_id, order_id=event.payload.order_id):
        s3.put_object(Bucket=DATA_LAKE_BUCKET, Key=key, Body=lake_object(event), ContentType="application/json")
        logger.info("event appended to the lake", extra={"key": key})
    metrics.add_metric(name="LakeRecordsWritten", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
