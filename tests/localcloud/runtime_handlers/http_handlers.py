"""HTTP handlers: echo the event back, or answer with a chosen status, headers and cookies."""

import base64
import json


def respond(event, context):
    params = event.get("pathParameters") or {}
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Order-Id": params.get("order_id", "")},
        "cookies": ["session=abc; Path=/"],
        "body": json.dumps({"order_id": params.get("order_id"), "event": event}),
    }


def plain(event, context):
    return {"route": event["routeKey"], "query": event.get("queryStringParameters")}


def binary(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}


def rest(event, context):
    return {"statusCode": 200, "multiValueHeaders": {"X-Multi": ["a", "b"]}, "body": json.dumps(event)}


def rest_malformed(event, context):
    return {"body": "no status code"}


def crash(event, context):
    raise RuntimeError("boom")


def sleepy(event, context):
    import time

    time.sleep(json.loads(event["body"])["sleep_s"])
    return {"slept": True}
