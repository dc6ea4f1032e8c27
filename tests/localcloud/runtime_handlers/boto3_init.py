"""A handler initialised like the project's: boto3 imported and a client created at import.

With INIT_QUEUE_URL set it also calls SQS at import (an init-time AWS call, counted in the
cold start's `aws_calls`); INIT_MARK is read at import, so a test sees which environment the
init ran with.
"""

import os
import sys

import boto3

INIT_MARK = os.environ.get("INIT_MARK")
SQS = boto3.client("sqs")
if "INIT_QUEUE_URL" in os.environ:
    SQS.get_queue_attributes(QueueUrl=os.environ["INIT_QUEUE_URL"], AttributeNames=["All"])


def handler(event, context):
    if "queue_url" in event:
        SQS.send_message(QueueUrl=event["queue_url"], MessageBody="x")
        SQS.get_queue_attributes(QueueUrl=event["queue_url"], AttributeNames=["All"])
    return {
        "init_mark": INIT_MARK,
        "pid": os.getpid(),
        "region": SQS.meta.region_name,
        "endpoint_url": SQS.meta.endpoint_url,
        "modules": sorted(m for m in sys.modules if "localcloud" in m or m in ("bootstrap", "forkserver", "echo", "boto3_init")),
        "main_file": sys.modules["__main__"].__file__,
    }
