"""Lambda events in exactly the shapes AWS delivers them, with fixed ids and times.

Each builder produces what the service hands to Lambda, field for field (the reference is
`sam local generate-event` and AWS's event documentation): HTTP API payload 2.0, SQS records
(raw SNS delivery with its message attributes, or the SNS notification envelope in the body),
S3 notifications as S3 puts them on a queue, DynamoDB stream records with NEW_AND_OLD_IMAGES.
Checksums (md5OfBody, md5OfMessageAttributes) are computed, not invented, so a file could have
come from the wire. Nothing here reads a clock or a random source: the same call writes the
same bytes, so the files diff cleanly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from boto3.dynamodb.types import TypeSerializer

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK = "orderflow"  # the local cloud's default stack name: physical names below match a local deploy
API_ID = "a1b2c3d4e5"
API_HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"

# Who SQS says sent a message: SNS and S3 deliver as these service principals.
SNS_SENDER_ID = "AIDAIT2UOQQY3AUEKVGXU"
S3_SENDER_ID = "AIDAJHIPRHEMV73VRJEBU"

_NAMESPACE = uuid.UUID("5c0d8f3e-2b1a-4e6f-9d7c-3a2b1c0d9e8f")
_serializer = TypeSerializer()


def fixed_uuid(*parts: str) -> str:
    """A UUID that depends only on `parts`: stable ids that still look like AWS's."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def iso_millis(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def queue_arn(logical_id: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{STACK}-{logical_id}"


def topic_arn(logical_id: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{STACK}-{logical_id}"


def bucket_name(logical_id: str) -> str:
    return f"{STACK}-{logical_id}".lower()


def table_stream_arn(logical_id: str, created: datetime) -> str:
    label = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000")
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{STACK}-{logical_id}/stream/{label}"


# --- HTTP API (payload format 2.0) ----------------------------------------------------------------


def http_api_request(
    method: str,
    route: str,
    path: str,
    *,
    at: datetime,
    request_id: str,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "203.0.113.10",
    user_agent: str = "curl/8.5.0",
) -> dict[str, Any]:
    """A request as an HTTP API hands it to Lambda: lower-case header names, route key
    `METHOD /template`, `pathParameters` only for templated routes, `body` only when sent."""
    sent = {
        "accept": "*/*",
        "host": API_HOST,
        "user-agent": user_agent,
        "x-amzn-trace-id": f"Root=1-{int(at.timestamp()):08x}-{hashlib.sha256(request_id.encode()).hexdigest()[:24]}",
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if body is not None:
        sent["content-length"] = str(len(body.encode()))
        sent["content-type"] = "application/json"
    sent.update({name.lower(): value for name, value in (headers or {}).items()})
    route_key = f"{method} {route}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": dict(sorted(sent.items())),
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": API_HOST,
        "domainPrefix": API_ID,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": user_agent},
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": at.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": millis(at),
    }
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = False
    return event


# --- SQS ------------------------------------------------------------------------------------------


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def sqs_record(
    body: str,
    *,
    queue: str,
    message_id: str,
    sent_at: datetime,
    sender_id: str,
    message_attributes: Mapping[str, tuple[str, str]] | None = None,
    receive_count: int = 1,
) -> dict[str, Any]:
    """One SQS message as the event source mapping delivers it. `message_attributes` maps a
    name to (DataType, StringValue): what SNS raw delivery copies from the published message."""
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(millis(sent_at)),
        "SenderId": sender_id,
        "ApproximateFirstReceiveTimestamp": str(millis(sent_at) + 27),
    }
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": _receipt_handle(message_id, receive_count),
        "body": body,
        "attributes": attributes,
        "messageAttributes": {
            name: {"stringValue": value, "stringListValues": [], "binaryListValues": [], "dataType": data_type}
            for name, (data_type, value) in sorted((message_attributes or {}).items())
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = md5_of_message_attributes(message_attributes)
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn(queue), "awsRegion": REGION})
    return record


def md5_of_message_attributes(attributes: Mapping[str, tuple[str, str]]) -> str:
    """SQS's digest of string/number message attributes: per attribute, in name order, the
    length-prefixed name, the length-prefixed data type, transport byte 1, the length-prefixed value."""
    buffer = b""
    for name, (data_type, value) in sorted(attributes.items()):
        for part in (name, data_type):
            encoded = part.encode()
            buffer += struct.pack(">I", len(encoded)) + encoded
        encoded_value = value.encode()
        buffer += b"\x01" + struct.pack(">I", len(encoded_value)) + encoded_value
    return hashlib.md5(buffer).hexdigest()  # noqa: S324 - SQS's own checksum


def _receipt_handle(message_id: str, receive_count: int) -> str:
    return base64.b64encode(hashlib.sha256(f"{message_id}:{receive_count}".encode()).digest() * 2).decode()


# --- SNS notification (a subscription without raw delivery puts this in the SQS body) ------------


def sns_notification(
    message: str, *, topic: str, message_id: str, at: datetime, message_attributes: Mapping[str, tuple[str, str]]
) -> str:
    """The JSON text an SQS subscriber receives when RawMessageDelivery is off."""
    arn = topic_arn(topic)
    doc = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": arn,
        "Message": message,
        "Timestamp": iso_millis(at),
        "SignatureVersion": "1",
        "Signature": base64.b64encode(hashlib.sha512(f"{message_id}{message}".encode()).digest()).decode(),
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={arn}:{fixed_uuid('sub', message_id)}",
        "MessageAttributes": {name: {"Type": data_type, "Value": value} for name, (data_type, value) in sorted(message_attributes.items())},
    }
    return json.dumps(doc, indent=2)


# --- S3 notifications (the body of the SQS message S3 sends) --------------------------------------


def s3_object_notification(
    bucket: str, key: str, *, size: int, etag: str, at: datetime, event_name: str = "ObjectCreated:Put"
) -> str:
    """S3's event message for one object; the key arrives URL-encoded (a space as '+')."""
    request_id = hashlib.sha256(f"{bucket}/{key}/{at.isoformat()}".encode()).hexdigest()[:16].upper()
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": iso_millis(at),
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {
            "x-amz-request-id": request_id,
            "x-amz-id-2": base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode(),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "ImportQueueNotification",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKEXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": quote_plus(key, safe="/"),
                "size": size,
                "eTag": etag,
                "sequencer": f"{millis(at):016X}"[-16:],
            },
        },
    }
    if event_name.startswith("ObjectRemoved"):
        del record["s3"]["object"]["size"], record["s3"]["object"]["eTag"]
    return json.dumps({"Records": [record]}, indent=2)


def s3_test_event(bucket: str, *, at: datetime) -> str:
    """What S3 sends once when a notification configuration is created: it names no object."""
    request_id = hashlib.sha256(f"test/{bucket}".encode()).hexdigest()[:16].upper()
    return json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": iso_millis(at),
            "Bucket": bucket,
            "RequestId": request_id,
            "HostId": base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode(),
        },
        indent=2,
    )


def etag(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag of a single-part upload


# --- DynamoDB streams -----------------------------------------------------------------------------


def to_attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def stream_record(
    event_name: str,
    *,
    table: str,
    keys: Mapping[str, Any],
    sequence_number: str,
    at: datetime,
    table_created: datetime,
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One record of a NEW_AND_OLD_IMAGES stream: INSERT has NewImage, MODIFY both, REMOVE OldImage."""
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": int(at.timestamp()), "Keys": to_attribute_values(keys)}
    if new_image is not None:
        dynamodb["NewImage"] = to_attribute_values(new_image)
    if old_image is not None:
        dynamodb["OldImage"] = to_attribute_values(old_image)
    size = len(json.dumps(dynamodb.get("Keys"))) + len(json.dumps(dynamodb.get("NewImage", {}))) + len(json.dumps(dynamodb.get("OldImage", {})))
    dynamodb.update({"SequenceNumber": sequence_number, "SizeBytes": size, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    return {
        "eventID": hashlib.md5(sequence_number.encode()).hexdigest(),  # noqa: S324 - an id, not security
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": table_stream_arn(table, table_created),
    }
