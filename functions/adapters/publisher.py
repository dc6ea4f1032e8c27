"""Domain events onto the SNS topic, with the attributes the subscriptions filter on.

Published with PublishBatch: up to 10 entries and 256 KiB of messages and attributes per call
(https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html), so a relay batch of N
transitions costs ceil(N / 10) calls instead of N. PublishBatch answers per entry; the first entry
that failed, and everything after it, counts as not published, so the caller can retry from there
in order (an entry after it that did go out is published again, with the same event id: consumers
drop the duplicate).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from orders.events import EventEnvelope

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 262_144


class PublishFailed(Exception):
    """Only the first `published` envelopes went out (in order)."""

    def __init__(self, published: int, reason: str) -> None:
        super().__init__(reason)
        self.published = published


def _entry(index: int, envelope: EventEnvelope) -> tuple[dict[str, Any], int]:
    message = envelope.model_dump_json()
    attributes = envelope.message_attributes()
    size = len(message.encode()) + sum(len(name) + len(a["DataType"]) + len(a["StringValue"].encode()) for name, a in attributes.items())
    return {"Id": str(index), "Message": message, "MessageAttributes": attributes}, size


def _batches(envelopes: Sequence[EventEnvelope]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for index, envelope in enumerate(envelopes):
        entry, entry_size = _entry(index, envelope)
        if batch and (len(batch) == MAX_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch


class SnsEventPublisher:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def publish_all(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Publish in order; raises PublishFailed naming how many, from the first, went out."""
        published = 0
        for batch in _batches(envelopes):
            try:
                answer = self._client.publish_batch(TopicArn=self._topic_arn, PublishBatchRequestEntries=batch)
            except Exception as exc:  # noqa: BLE001 - any failure of the call: none of this batch is known published
                raise PublishFailed(published, f"{type(exc).__name__}: {exc}") from exc
            failed = {entry["Id"]: entry for entry in answer.get("Failed", [])}
            for entry in batch:
                if entry["Id"] in failed:
                    reason = failed[entry["Id"]]
                    raise PublishFailed(published, f"{reason.get('Code')}: {reason.get('Message')}")
                published += 1
