"""Search consumer: keeps one query-friendly document per order in the search table.

Idempotency and ordering come from one conditional write on the order's version (no table of
seen events): a document is replaced only by one built from a newer version, so duplicates
are no-ops and late events never overwrite newer state.
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

from consumers.envelope import read_order_event
from consumers.projection import search_document

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

search_table = boto3.resource("dynamodb").Table(os.environ["SEARCH_TABLE"])


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    doc = search_document(event)
    with logger.append_context_keys(correlation_id=event.correlation_id, event_id=event.event_id, order_id=doc["order_id"]):
        try:
            search_table.put_item(
                Item=doc,
                ConditionExpression="attribute_not_exists(order_id) OR version < :version",
                ExpressionAttributeValues={":version": doc["version"]},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            logger.info("search document already at this version or newer; unchanged", extra={"version": doc["version"]})
            metrics.add_metric(name="StaleOrDuplicateEvents", unit=MetricUnit.Count, value=1)
            return
        logger.info("search document updated", extra={"version": doc["version"], "status": doc["status"]})
    metrics.add_metric(name="SearchDocumentsWritten", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
