"""Every event file parses with powertools' models of what AWS sends (an independent reading of
AWS's event formats), for the trigger its function has: the corpus is in AWS's shapes, not ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    S3Model,
    SnsNotificationModel,
    SqsModel,
)

from ordertools import eventfiles

from .harness import EVENTS

EVENT_FILES = eventfiles.discover(EVENTS)
# What S3 puts on the queue when a notification is configured; no powertools model covers it.
S3_TEST_EVENT_KEYS = {"Service", "Event", "Time", "Bucket", "RequestId", "HostId"}
TRIGGERS = {"ApiFunction": "http", "RelayFunction": "stream", "ImportFunction": "s3-via-sqs"}


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None  # a malformed body is a case of its own; the record around it is still checked


@pytest.mark.parametrize("path", EVENT_FILES, ids=[p.relative_to(EVENTS).as_posix() for p in EVENT_FILES])
def test_event_has_aws_shape(path: Path) -> None:
    event = eventfiles.load(path, default_function=path.parent.name)
    trigger = TRIGGERS.get(str(event.function), "sqs")
    if trigger == "http":
        APIGatewayProxyEventV2Model.model_validate(event.event)
        return
    if trigger == "stream":
        DynamoDBStreamModel.model_validate(event.event)
        return
    SqsModel.model_validate(event.event)
    for record in event.event["Records"]:
        body = _json_or_none(record["body"])
        if not isinstance(body, dict):
            continue
        if trigger == "s3-via-sqs":
            if body.get("Event") == "s3:TestEvent":
                assert set(body) == S3_TEST_EVENT_KEYS
            else:
                S3Model.model_validate(body)
        elif body.get("Type") == "Notification":
            SnsNotificationModel.model_validate(body)
