"""Search consumer: keeps one query-friendly document per order in the search table.

Idempotency and ordering come from the order's version (`consumers.projection.project`, no table
of seen events): a document is replaced only by one built from a newer version, so duplicates
are no-ops and late events never overwrite newer state.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.search_documents import DynamoSearchDocuments
from consumers.envelope import read_order_event
from consumers.projection import project
from handlers.sqs_consumer import count, event_context, sqs_consumer

documents = DynamoSearchDocuments(boto3.client("dynamodb"), os.environ["SEARCH_TABLE"])


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    with event_context(event, event.payload.order_id):
        count(project(event, documents), "SearchDocumentsWritten", version=event.payload.version, status=event.payload.status)


lambda_handler = sqs_consumer(record_handler)
