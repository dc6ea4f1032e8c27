"""Fails every record while the switch parameter is not "on"; counts each processing per id.

The count (ADD, not a conditional put) is what lets a test prove "processed exactly once":
a duplicate delivery would show as 2.
"""

import json
import os

import boto3

ssm = boto3.client("ssm")
table = boto3.resource("dynamodb").Table(os.environ["PROCESSED_TABLE"])


def handler(event, context):
    switched_on = ssm.get_parameter(Name=os.environ["SWITCH_PARAMETER"])["Parameter"]["Value"] == "on"
    failures = []
    for record in event["Records"]:
        if not switched_on:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        table.update_item(
            Key={"id": json.loads(record["body"])["id"]},
            UpdateExpression="ADD deliveries :one",
            ExpressionAttributeValues={":one": 1},
        )
    return {"batchItemFailures": failures}
