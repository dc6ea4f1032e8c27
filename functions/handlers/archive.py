"""Archive consumer: files every published domain event in S3, byte for byte as published.

It reads only the envelope header (id, type, time), never the payload, so it archives events
of every type and schema version, including those no other consumer understands yet.
The archive is write-once: the key depends only on the event, and the put is conditional
(If-None-Match: *), so a redelivery or a replay adds no object and no version, and nothing can
overwrite an archived event.
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

from consumers.archive import archive_key
from consumers.envelope import envelope_text, read_header

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

ARCHIVE_BUCKET = os.environ["ARCHIVE_BUCKET"]
s3 = boto3.client("s3")


def record_handler(record: SQSRecord) -> None:
    header = read_header(record.body)
    key = archive_key(header)
    with logger.append_context_keys(correlation_id=header.correlation_id, event_id=header.event_id, event_type=header.event_type):
        try:
            s3.put_object(
                Bucket=ARCHIVE_BUCKET,
                Key=key,
                Body=envelope_text(record.body).encode(),
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "PreconditionFailed":
                raise
            logger.info("event already archived; duplicate delivery", extra={"key": key})
            metrics.add_metric(name="DuplicateEvents", unit=MetricUnit.Count, value=1)
            return
        logger.info("event archived", extra={"key": key})
    metrics.add_metric(name="EventsArchived", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
