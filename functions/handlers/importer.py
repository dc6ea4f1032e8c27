"""Bulk import: each line of a JSON Lines file uploaded under imports/ becomes an order.

Lines enter through `orders.service.place_order`, the API's own path (catalog pricing,
deterministic order id, conditional create), with an idempotency key derived from the file and
the line, so re-uploading a file creates nothing new. Bad lines go to the report written beside
the file; a failure of the import itself fails the SQS record, and the retry is safe.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.catalog import DynamoCatalog
from adapters.order_repository import DynamoOrderRepository
from consumers.imports import ImportObject, objects_to_import, report_key, run_import, split_lines
from orders.models import OrderRequest
from handlers.sqs_consumer import logger, metrics, sqs_consumer
from orders.service import place_order

s3 = boto3.client("s3")
_dynamodb = boto3.client("dynamodb")
catalog = DynamoCatalog(_dynamodb, os.environ["CATALOG_TABLE"])
orders = DynamoOrderRepository(_dynamodb, os.environ["ORDERS_TABLE"])


def record_handler(record: SQSRecord) -> None:
    sources = objects_to_import(record.body)
    if not sources:
        logger.info("notification names no import (e.g. s3:TestEvent); nothing to do")
        metrics.add_metric(name="ImportNotificationsIgnored", unit=MetricUnit.Count, value=1)
    for source in sources:
        import_file(source)


def import_file(source: ImportObject) -> None:
    with logger.append_context_keys(import_bucket=source.bucket, import_key=source.key):
        body = s3.get_object(Bucket=source.bucket, Key=source.key)["Body"]
        report = run_import(source, split_lines(body.iter_chunks()), place)
        s3.put_object(Bucket=source.bucket, Key=report_key(source), Body=report.to_json(), ContentType="application/json")
        logger.info("import done", extra={"lines": report.lines, "accepted": report.accepted, "rejected": len(report.errors)})
    metrics.add_metric(name="ImportLinesAccepted", unit=MetricUnit.Count, value=report.accepted)
    metrics.add_metric(name="ImportLinesRejected", unit=MetricUnit.Count, value=len(report.errors))


def place(request: OrderRequest, idempotency_key: str) -> str:
    order = place_order(
        request,
        idempotency_key=idempotency_key,
        catalog=catalog,
        orders=orders,
        correlation_id=idempotency_key,
        now=datetime.now(UTC),
    )
    return order.order_id


lambda_handler = sqs_consumer(record_handler)
