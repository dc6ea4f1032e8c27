"""Reading SQS messages without consuming them, and copying them faithfully.

Inspecting a dead-letter queue means receiving from it, which hides the messages for a while;
these helpers always hand them back (visibility 0) so looking never changes what a later
redrive or consumer sees. Copies keep the body and the message attributes byte for byte,
because consumers route and dedupe on them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

_RECEIVE = {"MessageSystemAttributeNames": ["All"], "MessageAttributeNames": ["All"]}
_IDENTIFIER = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(frozen=True)
class Message:
    """One received SQS message, as the tools need it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, dict[str, Any]]

    @classmethod
    def from_sqs(cls, raw: dict[str, Any]) -> Message:
        return cls(
            message_id=raw["MessageId"],
            receipt_handle=raw["ReceiptHandle"],
            body=raw["Body"],
            attributes=dict(raw.get("Attributes") or {}),
            message_attributes=dict(raw.get("MessageAttributes") or {}),
        )

    @property
    def sent_at(self) -> datetime | None:
        stamp = self.attributes.get("SentTimestamp")
        return datetime.fromtimestamp(int(stamp) / 1000, UTC) if stamp else None

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", "0"))

    def json_body(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def copy_entry(self, entry_id: str, *, fifo: bool) -> dict[str, Any]:
        """A SendMessageBatch entry carrying the same body and message attributes.

        On FIFO queues the group is kept; the deduplication id is derived from this message's id
        so a redrive retried within SQS's 5-minute window does not enqueue it twice, while the
        original deduplication id (already used on the source queue) cannot swallow the copy.
        """
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": self.body}
        if self.message_attributes:
            entry["MessageAttributes"] = {name: _sendable(value) for name, value in self.message_attributes.items()}
        if fifo:
            entry["MessageGroupId"] = self.attributes.get("MessageGroupId", "redrive")
            entry["MessageDeduplicationId"] = hashlib.sha256(f"redrive:{self.message_id}".encode()).hexdigest()
        return entry


def _sendable(value: dict[str, Any]) -> dict[str, Any]:
    """Received attribute values carry empty list fields that SendMessage rejects."""
    return {k: v for k, v in value.items() if v not in ([], None, "")}


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def receive(sqs: Any, url: str, *, max_messages: int, visibility_s: int, wait_s: int = 0) -> list[Message]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, max_messages)),
        VisibilityTimeout=visibility_s,
        WaitTimeSeconds=wait_s,
        **_RECEIVE,
    )
    return [Message.from_sqs(raw) for raw in response.get("Messages", [])]


def release(sqs: Any, url: str, messages: Iterable[Message]) -> None:
    """Make held messages visible again at once."""
    for chunk in chunks(list(messages), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0} for i, m in enumerate(chunk)],
        )


def peek(sqs: Any, url: str, limit: int, *, wait_s: int = 0) -> list[Message]:
    """Up to `limit` distinct messages, all visible again when this returns."""
    held: dict[str, Message] = {}
    try:
        while len(held) < limit:
            batch = receive(sqs, url, max_messages=limit - len(held), visibility_s=60, wait_s=wait_s)
            fresh = [m for m in batch if m.message_id not in held]
            if not fresh:
                break
            held.update((m.message_id, m) for m in fresh)
    finally:
        release(sqs, url, held.values())
    return list(held.values())


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class BodyFilter:
    """`--filter`: a JMESPath expression over the JSON body, or a plain substring of the body.

    A value that compiles as JMESPath and is not a bare word is an expression, and a message
    matches when it evaluates to something truthy (`event_type == 'OrderPlaced'`,
    `payload.total_cents > \\`1000\\``). Anything else, including a bare word like `OrderPlaced`
    (which JMESPath would read as a field name), is a substring of the raw body.
    """

    def __init__(self, text: str):
        self.text = text
        self._expression = None
        if not set(text) <= _IDENTIFIER:
            try:
                self._expression = jmespath.compile(text)
            except JMESPathError:
                self._expression = None

    @property
    def kind(self) -> str:
        return "jmespath" if self._expression is not None else "substring"

    def matches(self, body: str) -> bool:
        if self._expression is None:
            return self.text in body
        try:
            document = json.loads(body)
        except ValueError:
            return False
        return bool(self._expression.search(document))
