"""Deliver a record to a destination ARN (SQS queue, SNS topic, S3 bucket, Lambda function, EventBridge bus).

Used by async invocation destinations (on_success/on_failure) and by stream mappings'
on-failure destinations, which AWS both address by ARN. An S3 bucket takes the record as an
object under the key the caller gives (the stream mapping's layout is AWS's, in `dynamodb_stream`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from localcloud.emulator import Endpoints

# Sends an event to a function asynchronously; given by the runtime so Lambda ARNs loop back in.
AsyncInvoke = Callable[[str, Any], None]


class Destinations:
    def __init__(self, endpoints: Endpoints, invoke_async: AsyncInvoke) -> None:
        self._endpoints = endpoints
        self._invoke_async = invoke_async
        self._clients: dict[str, Any] = {}
        self._queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._endpoints.client(service)
            return self._clients[service]

    def send(self, arn: str, record: dict[str, Any], s3_key: str | None = None) -> None:
        """Raises ValueError for an ARN of a service that cannot be a destination (or S3 without a key)."""
        service = arn.split(":")[2]
        body = json.dumps(record)
        if service == "s3" and s3_key is not None:
            self._client("s3").put_object(Bucket=arn.rsplit(":", 1)[1], Key=s3_key, Body=body.encode(), ContentType="application/json")
        elif service == "sqs":
            self._client("sqs").send_message(QueueUrl=self._queue_url(arn), MessageBody=body)
        elif service == "sns":
            self._client("sns").publish(TopicArn=arn, Message=body)
        elif service == "lambda":
            self._invoke_async(arn, record)
        elif service == "events":
            entry = {"Source": "lambda", "DetailType": "Lambda Function Invocation Result", "Detail": body, "EventBusName": arn}
            self._client("events").put_events(Entries=[entry])
        else:
            raise ValueError(f"unsupported destination {arn!r}")

    def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            _, _, _, _, account, name = arn.split(":", 5)
            url = self._client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            self._queue_urls[arn] = url
        return self._queue_urls[arn]
