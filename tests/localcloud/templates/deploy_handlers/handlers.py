"""Tiny handlers for the deployer, LocalCloud and CLI tests: they show what the function saw."""

import json
import os

import boto3


def echo(event, context):
    """Return the event and the environment the deployer resolved, so tests can check both."""
    return {"event": event, "stage": os.environ.get("STAGE"), "queue_url": os.environ.get("QUEUE_URL")}


def describe(event, context):
    """An HTTP API (payload 2.0) handler reporting the path parameter and its resolved environment."""
    body = {
        "name": event["pathParameters"]["name"],
        "stage": os.environ["STAGE"],
        "sidecar_url": os.environ["SIDECAR_URL"],
        "queue_url": os.environ["QUEUE_URL"],
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def store(event, context):
    """An SQS consumer that writes each message body to the table, through the endpoint env vars."""
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(Item={"pk": record["body"]})
    return {"stored": len(event["Records"])}


def fail(event, context):
    raise ValueError(f"refused {event!r}")
