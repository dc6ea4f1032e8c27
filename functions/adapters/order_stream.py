"""The orders table's stream read back by coordinates: what a Lambda OnFailure record of the relay names."""

from __future__ import annotations

from typing import Any

from adapters.dynamo_items import order_from_item
from orders.events import EventEnvelope
from orders.models import Order
from orders.outbox import event_for


def stream_event(record: dict[str, Any]) -> tuple[Order, EventEnvelope] | None:
    """The order a stream record wrote and the event it stands for, if any (the relay's decision)."""
    images = record.get("dynamodb", {})
    if record.get("eventName") not in ("INSERT", "MODIFY") or "NewImage" not in images:
        return None
    new = order_from_item(images["NewImage"])
    old = order_from_item(images["OldImage"]) if "OldImage" in images else None
    envelope = event_for(old, new)
    return (new, envelope) if envelope is not None else None


class StreamRecordsGone(Exception):
    """The stream no longer holds the records (DynamoDB Streams keeps them 24 hours)."""


class OrderStream:
    def __init__(self, client: Any) -> None:
        self._client = client

    def records(self, batch_info: dict[str, Any]) -> list[dict[str, Any]]:
        """The records of a failed batch (`DDBStreamBatchInfo`: streamArn, shardId, start/end sequence numbers), in order."""
        start, end = int(batch_info["startSequenceNumber"]), int(batch_info["endSequenceNumber"])
        try:
            iterator = self._client.get_shard_iterator(
                StreamArn=batch_info["streamArn"],
                ShardId=batch_info["shardId"],
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=batch_info["startSequenceNumber"],
            )["ShardIterator"]
        except (self._client.exceptions.TrimmedDataAccessException, self._client.exceptions.ResourceNotFoundException) as exc:
            raise StreamRecordsGone(f"records {start}..{end} of {batch_info['shardId']}: {exc}") from exc
        found: list[dict[str, Any]] = []
        for _ in range(100):  # bounded: a failed batch holds at most 10,000 records, 1,000 per call
            response = self._client.get_records(ShardIterator=iterator, Limit=1000)
            for record in response.get("Records", []):
                sequence = int(record["dynamodb"]["SequenceNumber"])
                if sequence > end:
                    return found
                if sequence >= start:
                    found.append(record)
            iterator = response.get("NextShardIterator")
            if not iterator or not response.get("Records"):
                break
        if not found:
            raise StreamRecordsGone(f"records {start}..{end} of {batch_info['shardId']} are no longer in the stream")
        return found
