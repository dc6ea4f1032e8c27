"""Returns what the handler sees: event, environment, context, process id."""

import os
import time

IMPORTED_AT = time.time()


def handler(event, context):
    if isinstance(event, dict) and "sleep_s" in event:
        time.sleep(event["sleep_s"])
    return {
        "event": event,
        "pid": os.getpid(),
        "imported_at": IMPORTED_AT,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }


def fail(event, context):
    raise ValueError(f"bad order {event.get('order_id')}")


def exit_process(event, context):
    os._exit(3)


def not_serialisable(event, context):
    return {"when": object()}


def printer(event, context):
    print(f"hello from {context.aws_request_id}")
    return "printed"


def call_sqs(event, context):
    import boto3

    sqs = boto3.client("sqs")
    for _ in range(event["n"]):
        sqs.send_message(QueueUrl=event["queue_url"], MessageBody="x")
    sqs.get_queue_attributes(QueueUrl=event["queue_url"], AttributeNames=["All"])
    return "sent"
