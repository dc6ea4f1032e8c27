"""`orderflow replay --from-dlq QUEUE`: re-run dead-lettered work through the function that failed it.

Where `dlq redrive` puts messages back on their queue and lets the event source mapping deliver
them again, this invokes the function directly and synchronously, so the operator sees at once
whether the fix works; a message is deleted from the DLQ only after its invocation succeeded.
What is re-run depends on what the DLQ holds:
- a message dead-lettered by an SQS redrive policy: an SQS event with that one record, sent to
  the function(s) consuming the source queue;
- a Lambda OnFailure record of an async invoke: its `requestPayload`, to the function it names;
- a Lambda OnFailure record of a DynamoDB stream batch: the batch's records read back from the
  stream (the record carries only their sequence numbers), to the function it names.
Anything else is skipped with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ordertools.dlq import find_dead_letter_queue
from ordertools.replay_items import Invocation, Item, Skip
from ordertools.sqs_messages import Message, receive, release
from ordertools.targets import StackTarget, TargetError

HOLD_S = 900  # messages stay hidden while the replay runs; the rest are released when it ends


class DlqSource:
    """The DLQ's messages as replay items; `close()` makes every message not deleted visible again."""

    def __init__(self, target: StackTarget, queue: str, *, max_messages: int | None = None):
        self._target = target
        self._dlq = find_dead_letter_queue(target, queue)
        self._sqs = target.client("sqs")
        self._max = max_messages
        self._held: dict[str, Message] = {}

    def items(self) -> list[Item]:
        items: list[Item] = []
        while self._max is None or len(self._held) < self._max:
            wanted = 10 if self._max is None else self._max - len(self._held)
            batch = [m for m in receive(self._sqs, self._dlq.url, max_messages=wanted, visibility_s=HOLD_S) if m.message_id not in self._held]
            if not batch:
                break
            for message in batch:
                self._held[message.message_id] = message
                items.append(self._item(message))
        return items

    def close(self) -> None:
        release(self._sqs, self._dlq.url, self._held.values())
        self._held.clear()

    def _item(self, message: Message) -> Item:
        label = f"{self._dlq.logical_id} {message.message_id}"
        document = message.json_body()
        try:
            if isinstance(document, dict) and "requestContext" in document and "responseContext" in document:
                function = str(document["requestContext"]["functionArn"]).rsplit(":function:", 1)[-1].split(":")[0]
                if "requestPayload" in document:
                    return Invocation(function, document["requestPayload"], label, self._settle(message))
                if "DDBStreamBatchInfo" in document:
                    event = {"Records": stream_records(self._target, document["DDBStreamBatchInfo"])}
                    return Invocation(function, event, label, self._settle(message))
            return self._sqs_item(message, label)
        except (TargetError, KeyError) as exc:
            return Skip(label, str(exc))

    def _sqs_item(self, message: Message, label: str) -> Item:
        if not self._dlq.sources:
            return Skip(label, "not a Lambda failure record and no source queue to re-run it for")
        source = self._dlq.sources[0]
        if len(self._dlq.sources) > 1:
            source_arn = message.attributes.get("DeadLetterQueueSourceArn")
            source = next((s for s in self._dlq.sources if s.arn == source_arn), None)  # type: ignore[assignment]
            if source is None:
                return Skip(label, "several source queues and the message does not name its own: use `dlq redrive --to`")
        consumers = self._target.queue_consumers.get(source.arn, ())
        if len(consumers) != 1:
            return Skip(label, f"source queue {source.url.rsplit('/', 1)[-1]} has {len(consumers)} consumer functions, not one")
        return Invocation(consumers[0], {"Records": [sqs_record(message, source.arn, self._target.endpoints.region)]}, label, self._settle(message))

    def _settle(self, message: Message) -> Callable[[Any], str | None]:
        def delete(_payload: Any) -> str | None:
            self._sqs.delete_message(QueueUrl=self._dlq.url, ReceiptHandle=message.receipt_handle)
            self._held.pop(message.message_id, None)
            return None

        return delete


def sqs_record(message: Message, source_arn: str, region: str) -> dict[str, Any]:
    """Lambda's SQS record for a message, as if the source queue's mapping had received it."""
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {k: v for k, v in message.attributes.items() if k != "DeadLetterQueueSourceArn"},
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value["DataType"],
            }
            for name, value in message.message_attributes.items()
        },
        "md5OfBody": _md5(message.body),
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }


def stream_records(target: StackTarget, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a failed stream batch, read back by shard and sequence numbers (streams keep 24 h)."""
    streams = target.client("dynamodbstreams")
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"], ShardId=info["shardId"], ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=info["startSequenceNumber"]
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    for _ in range(100):  # bounded: a batch is at most 10,000 records, 1,000 per call
        response = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in response.get("Records", []):
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > end:
                return records
            if sequence >= start:
                records.append(_lambda_stream_record(record, info["streamArn"], target.endpoints.region))
        iterator = response.get("NextShardIterator")
        if not iterator or not response.get("Records") or len(records) >= int(info.get("batchSize", 10_000)):
            break
    if not records:
        raise TargetError(f"stream records {start}..{end} of {info['shardId']} are no longer in the stream")
    return records


def _lambda_stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - SQS's body checksum, not security
