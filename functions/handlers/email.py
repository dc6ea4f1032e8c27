"""Email consumer: stores the customer's receipt for OrderConfirmed, OrderCancelled and OrderShipped.

The rule (one receipt per order and event type, written once) is `consumers.receipts.store_receipt`;
the receipt object itself is the record of having done the work, so no idempotency table is needed.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.s3_objects import S3Objects
from consumers.envelope import read_order_event
from consumers.receipts import store_receipt
from handlers.sqs_consumer import count, event_context, sqs_consumer

receipts = S3Objects(boto3.client("s3"), os.environ["RECEIPTS_BUCKET"], "text/html; charset=utf-8")


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    with event_context(event, event.payload.order_id):
        count(store_receipt(event, receipts), "ReceiptsStored")


lambda_handler = sqs_consumer(record_handler)
