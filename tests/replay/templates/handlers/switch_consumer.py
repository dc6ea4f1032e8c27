"""Consumers that fail while the switch parameter is not "on"; each counts its processing per id.

The count (ADD, not a conditional put) is what lets a test prove "processed exactly once":
a duplicate delivery would show as 2.
"""

import json
import os

import boto3

ssm = boto3.client("ssm")
table = boto3.resource("dynamodb").Table(os.environ["PROCESSED_TABLE"])


class SwitchedOff(Exception):
    pass


def switched_on():
    return ssm.get_parameter(Name=os.environ["SWITCH_PARAMETER"])["Parameter"]["Value"] == "on"


def count(item_id):
    table.update_item(Key={"id": item_id}, UpdateExpression="ADD deliveries :one", ExpressionAttributeValues={":one": 1})


def handler(event, context):
    """SQS, with ReportBatchItemFailures."""
    on = switched_on()
    failures = []
    for record in event["Records"]:
        if not on:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        count(json.loads(record["body"])["id"])
    return {"batchItemFailures": failures}


def stream_handler(event, context):
    """DynamoDB stream: the whole batch fails while switched off."""
    if not switched_on():
        raise SwitchedOff("switch is off")
    for record in event["Records"]:
        count("stream-" + record["dynamodb"]["NewImage"]["id"]["S"])


def async_handler(event, context):
    if not switched_on():
        raise SwitchedOff("switch is off")
    count("async-" + event["id"])
    return {"ok": event["id"]}
