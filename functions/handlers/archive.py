"""Archive consumer: files every published domain event in S3, byte for byte as published, once.

It reads only the envelope header (id, type, time), never the payload, so it archives events
of every type and schema version, including those no other consumer understands yet. The
layout and the write-once rule are `consumers.archive`.
"""

from __future__ import annotations

import os

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from adapters.s3_objects import S3Objects
from consumers.archive import archive_event
from consumers.envelope import envelope_text, read_header
from handlers.sqs_consumer import count, event_context, sqs_consumer

archive = S3Objects(boto3.client("s3"), os.environ["ARCHIVE_BUCKET"], "application/json")


def record_handler(record: SQSRecord) -> None:
    header = read_header(record.body)
    with event_context(header):
        count(archive_event(header, envelope_text(record.body), archive), "EventsArchived")


lambda_handler = sqs_consumer(record_handler)
