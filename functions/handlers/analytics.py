"""Analytics consumer: every order event becomes one object in the date-partitioned lake.

Idempotency is by construction (`consumers.lake`: no table, no condition): the key and the bytes
depend only on the event, so a redelivery rewrites the identical object and the lake's record
count is unchanged.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.s3_objects import S3Objects
from consumers.envelope import read_order_event
from consumers.lake import append_to_lake
from handlers.sqs_consumer import count, event_context, sqs_consumer

lake = S3Objects(boto3.client("s3"), os.environ["DATA_LAKE_BUCKET"], "application/json")


def record_handler(record: SQSRecord) -> None:
    event = read_order_event(record.body)
    with event_context(event, event.payload.order_id):
        count(append_to_lake(event, lake), "LakeRecordsWritten")


lambda_handler = sqs_consumer(record_handler)
