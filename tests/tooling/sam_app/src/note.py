"""Stores each SQS record's body as a note: proves a function in a sam local container reaches the emulator."""

import json
import os

import boto3

_table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            note = json.loads(record["body"])
            _table.put_item(Item={"pk": note["id"], "text": note["text"]})
        except (ValueError, KeyError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
