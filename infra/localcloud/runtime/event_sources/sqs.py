"""The SQS event source mapping: long-poll a queue, invoke the function with batches, acknowledge.

As Lambda does, pollers wait on the queue (20 s long polls), so an idle mapping costs one
waiting request, and their number follows the backlog: one poller at first, one more each
time a receive comes back full (up to `MaximumConcurrency`, else `DEFAULT_MAX_POLLERS`, never
above the function's reserved concurrency), and a poller whose receive comes back empty ends
while another is left. https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html

Failure handling is the queue's own, as on AWS: a failed batch is not deleted, its messages
become visible again after the visibility timeout, and the queue's redrive policy moves a
message to the DLQ after `maxReceiveCount` receives. For a FIFO queue the poller itself holds
each message group's order: a message that comes back before an earlier one of its group that
failed (moto 5.2.5 returns the last of [2, 3, 4] first) is handed back to the queue until the
earlier ones come, so they are redelivered together and in order, as AWS does.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

from localcloud.emulator import Endpoints
from localcloud.model import FunctionSpec, SqsEventSource
from localcloud.runtime.event_sources.base import AbortableClient, Backoff, EventSource
from localcloud.runtime.event_sources.filters import sqs_filter_view
from localcloud.runtime.event_sources.processing import BatchProcessor, Record, sqs_identifier
from localcloud.runtime.invoker import Invoker

log = logging.getLogger(__name__)

DEFAULT_MAX_POLLERS = 5  # a laptop's stand-in for Lambda's scaling to 1,250, unless the mapping says
LONG_POLL_S = 20  # Lambda's pollers use the longest wait SQS allows
FIFO_IDLE_S = (0.05, 1.0)
_HAND_BACK_PAUSE_S = 0.05
# AWS's order of a record's keys and of its `attributes` (the SQS event in Lambda's documentation).
_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId", "SenderId",
    "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp",
)


def sqs_record(message: dict[str, Any], source: SqsEventSource, region: str) -> Record:
    """One message in exactly the shape (and key order) Lambda's SQS event gives it.
    https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event"""
    received = message.get("Attributes", {})
    attributes = {name: received[name] for name in _ATTRIBUTE_ORDER if name in received}
    attributes.update((name, value) for name, value in received.items() if name not in attributes)
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": {name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()},
        "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


class GroupOrder:
    """FIFO messages that failed and that their group still owes, until they come back.

    An entry lasts the visibility timeout plus a margin: by then the message is visible again
    (or the redrive policy moved it to the DLQ, and it will never come).
    """

    def __init__(self, hold_s: float) -> None:
        self._hold_s = hold_s
        self._owed: dict[str, dict[int, float]] = {}
        self._lock = threading.Lock()

    def failed(self, records: list[Record]) -> None:
        deadline = time.monotonic() + self._hold_s
        with self._lock:
            for record in records:
                group, sequence = _group_and_sequence(record)
                self._owed.setdefault(group, {})[sequence] = deadline

    def early(self, records: list[Record]) -> list[Record]:
        """The records that came before an earlier failed message of their group; forgets the owed
        messages that came back."""
        now = time.monotonic()
        by_group: dict[str, set[int]] = {}
        for record in records:
            group, sequence = _group_and_sequence(record)
            by_group.setdefault(group, set()).add(sequence)
        early_groups = set()
        with self._lock:
            for group, sequences in by_group.items():
                owed = {s: d for s, d in self._owed.get(group, {}).items() if d > now and s not in sequences}
                if any(s < max(sequences) for s in owed):
                    early_groups.add(group)
                if owed:
                    self._owed[group] = owed
                else:
                    self._owed.pop(group, None)
        return [r for r in records if _group_and_sequence(r)[0] in early_groups]


def _group_and_sequence(record: Record) -> tuple[str, int]:
    attributes = record["attributes"]
    return str(attributes.get("MessageGroupId", "")), int(attributes.get("SequenceNumber", 0))


class SqsMapping(EventSource):
    """One SQS event source mapping: pollers that follow the backlog, each sending its batch through the invoker."""

    def __init__(self, invoker: Invoker, endpoints: Endpoints, spec: FunctionSpec, source: SqsEventSource) -> None:
        super().__init__(f"sqs:{source.logical_id}")
        self._invoker = invoker
        self._spec = spec
        self._source = source
        self._region = endpoints.region
        self._poll = AbortableClient(endpoints, "sqs")
        self._client = endpoints.client("sqs", retries={"max_attempts": 3, "mode": "standard"})
        self._processor = BatchProcessor(
            invoker, spec.logical_id, self.source_name, source.filter_patterns, source.report_batch_item_failures,
            sqs_identifier, self._stop,
        )
        cap = source.maximum_concurrency or DEFAULT_MAX_POLLERS
        if spec.reserved_concurrency:  # more pollers than slots would only hold messages in flight, waiting
            cap = min(cap, spec.reserved_concurrency)
        self.max_pollers = max(cap, 1)
        self._pollers = 0
        self._scale_lock = threading.Lock()
        self._fifo_receive_lock = threading.Lock()
        self._order: GroupOrder | None = None
        self._fifo_idle = Backoff(*FIFO_IDLE_S)

    def start(self) -> None:
        if self._source.fifo:
            attributes = self._client.get_queue_attributes(QueueUrl=self._source.queue_url, AttributeNames=["VisibilityTimeout"])
            self._order = GroupOrder(float(attributes["Attributes"].get("VisibilityTimeout", 30)) + 2.0)
        self._add_poller()

    def interrupt(self) -> None:
        self._poll.abort()

    def _add_poller(self) -> None:
        with self._scale_lock:
            if self._pollers >= self.max_pollers:
                return
            self._pollers += 1
        if self.spawn(self.run_worker) is None:
            with self._scale_lock:
                self._pollers -= 1

    def _may_retire(self) -> bool:
        """An idle poller ends unless it is the last one."""
        with self._scale_lock:
            if self._pollers > 1:
                self._pollers -= 1
                return True
            return False

    def run_once(self) -> bool:
        if not self._invoker.wait_for_capacity(self._spec.logical_id, self._stop, 1.0):
            return True
        messages = self._collect()
        if not messages:
            return not self._may_retire()
        if len(messages) >= min(self._source.batch_size, 10):
            self._add_poller()  # a full receive: there is a backlog
        self._process(messages)
        return True

    def _receive(self, max_messages: int, wait_s: int) -> list[dict[str, Any]]:
        response = self._poll.client.receive_message(
            QueueUrl=self._source.queue_url,
            MaxNumberOfMessages=max(1, min(max_messages, 10)),
            WaitTimeSeconds=max(0, min(wait_s, LONG_POLL_S)),
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def _collect(self) -> list[dict[str, Any]]:
        """Gather up to batch_size messages, waiting at most the batching window after the first."""
        size = self._source.batch_size
        if self._source.fifo:
            # One receive at a time: an emulator that does not lock receives (moto) could otherwise hand
            # two pollers messages of the same group, and group order would be lost. No long poll: moto's
            # keeps every group that was in flight when it began blocked to its end, so short receives
            # backing off while idle (up to 1 s) stand in.
            # Messages that came before an earlier failed one of their group go back inside the same lock:
            # released in between, another poller could receive the rest of the group without them.
            with self._fifo_receive_lock:
                batch = self._receive(size, 0)
                if batch:
                    self._fifo_idle.reset()
                    batch = self._without_early(batch)
                else:
                    self._stop.wait(self._fifo_idle.next())
                return batch
        batch = self._receive(size, LONG_POLL_S)
        deadline = time.monotonic() + self._source.maximum_batching_window_s
        while batch and len(batch) < size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._receive(size - len(batch), int(remaining))
            if not more and remaining < 1:
                self._stop.wait(min(remaining, 0.05))
            batch.extend(more)
        return batch

    def _without_early(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The messages of a FIFO receive minus those that came too early, which are handed back."""
        assert self._order is not None
        records = [sqs_record(message, self._source, self._region) for message in messages]
        early = self._order.early(records)
        if not early:
            return messages
        self._hand_back(early)
        handed_back = {r["messageId"] for r in early}
        return [m for m in messages if m["MessageId"] not in handed_back]

    def _process(self, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(message, self._source, self._region) for message in messages]
        kept = [r for r in records if self._processor.wanted(r, sqs_filter_view(r))]
        dropped = [r["receiptHandle"] for r in records if r not in kept]
        if dropped:  # AWS deletes messages that match no filter
            self._delete(dropped)
        if not kept:
            return
        outcome = self._processor.invoke(kept)
        if outcome.malformed:
            log.warning("%s: malformed batchItemFailures %r, the whole batch fails", self.source_name, outcome.result.payload)
        failed = [r for r in kept if outcome.failed is None or r["messageId"] in outcome.failed]
        if failed and self._order is not None:
            self._order.failed(failed)
        # nothing failed is deleted: those messages return after the visibility timeout
        self._delete([r["receiptHandle"] for r in kept if r not in failed])

    def _hand_back(self, records: list[Record]) -> None:
        """Make messages that came too early visible again at once, for the receive that brings their group whole."""
        entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0} for i, r in enumerate(records)]
        for start in range(0, len(entries), 10):
            self._client.change_message_visibility_batch(QueueUrl=self._source.queue_url, Entries=entries[start : start + 10])
        self._stop.wait(_HAND_BACK_PAUSE_S)

    def _delete(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
            response = self._client.delete_message_batch(QueueUrl=self._source.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                log.warning("could not delete from %s: %s", self._source.queue_url, failure)
