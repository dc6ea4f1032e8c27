"""The SQS event source mapping: poll a queue, invoke the function with batches, acknowledge.

Shaped like LocalStack's: `SqsPoller` only fetches and acknowledges, the processing step
(`sqs_record`, filtering, `failed_message_ids`) turns messages into Lambda's event and a
response into what to delete, and `SqsMapping` runs one worker thread per concurrent batch
(`MaximumConcurrency`, default `DEFAULT_CONCURRENCY`), each sending its batch through the invoker.

Failure handling is the queue's own, as on AWS: a failed batch is not deleted, its messages
become visible again after the visibility timeout, and the queue's redrive policy moves a
message to the DLQ after `maxReceiveCount` receives.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

from localcloud.emulator import Endpoints
from localcloud.model import FunctionSpec, SqsEventSource
from localcloud.runtime.filters import matches_any, parse_patterns, sqs_filter_view
from localcloud.runtime.invoker import Invoker, RuntimeStopped

log = logging.getLogger(__name__)

# Lambda starts five pollers per queue and scales up; a laptop keeps five unless the mapping says.
DEFAULT_CONCURRENCY = 5
_LONG_POLL_S = 1  # short enough that stop() never waits long for a receive
_FIFO_IDLE_S = 0.1


class SqsPoller:
    """Fetches and acknowledges messages of one queue; knows nothing of Lambda."""

    def __init__(self, endpoints: Endpoints, source: SqsEventSource) -> None:
        self.source = source
        self.fifo = source.queue_arn.endswith(".fifo")
        self._client = endpoints.client("sqs", retries={"max_attempts": 3, "mode": "standard"})

    def receive(self, max_messages: int, wait_s: int) -> list[dict[str, Any]]:
        response = self._client.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=max(1, min(max_messages, 10)),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def delete(self, receipt_handles: list[str]) -> None:
        for start in range(0, len(receipt_handles), 10):
            chunk = receipt_handles[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(chunk)]
            response = self._client.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
            for failure in response.get("Failed", []):
                log.warning("could not delete from %s: %s", self.source.queue_url, failure)


def sqs_record(message: dict[str, Any], source: SqsEventSource, region: str) -> dict[str, Any]:
    """One message in exactly the shape Lambda's SQS event gives it."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": source.queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


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


def failed_message_ids(payload: Any, message_ids: set[str]) -> set[str] | None:
    """The messages a ReportBatchItemFailures response asks to retry; None means the whole batch
    failed, as AWS treats a malformed response (unknown, empty or missing itemIdentifier)."""
    if not isinstance(payload, dict) or payload.get("batchItemFailures") is None:
        return set()
    failures = payload["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    failed = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(item, str) or item not in message_ids:
            return None
        failed.add(item)
    return failed


class SqsMapping:
    """One SQS event source mapping: its worker threads, started and stopped together."""

    def __init__(self, invoker: Invoker, endpoints: Endpoints, spec: FunctionSpec, source: SqsEventSource) -> None:
        self._invoker = invoker
        self._endpoints = endpoints
        self._spec = spec
        self._source = source
        self._patterns = parse_patterns(source.filter_patterns)
        self._stop = threading.Event()
        self._fifo_receive_lock = threading.Lock()
        concurrency = source.maximum_concurrency or DEFAULT_CONCURRENCY
        if spec.reserved_concurrency:  # more pollers than slots would only hold messages in flight, waiting
            concurrency = min(concurrency, spec.reserved_concurrency)
        self._threads = [
            threading.Thread(target=self._work, name=f"sqs:{source.logical_id}:{i}", daemon=True) for i in range(concurrency)
        ]

    @property
    def source_name(self) -> str:
        return f"sqs:{self._source.logical_id}"

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(max(deadline - time.monotonic(), 0))

    def _work(self) -> None:
        poller = SqsPoller(self._endpoints, self._source)
        while not self._stop.is_set():
            try:
                if not self._invoker.wait_for_capacity(self._spec.logical_id, self._stop, 1.0):
                    continue
                messages = self._collect(poller)
                if messages:
                    self._process(poller, messages)
            except RuntimeStopped:
                return
            except Exception:  # noqa: BLE001 - the emulator hiccuped: back off, keep polling
                log.exception("%s: polling failed", self.source_name)
                self._stop.wait(1.0)

    def _collect(self, poller: SqsPoller) -> list[dict[str, Any]]:
        """Gather up to batch_size messages, waiting at most the batching window after the first."""
        size = self._source.batch_size
        window = self._source.maximum_batching_window_s
        if poller.fifo:
            # One receive at a time: an emulator that does not lock receives (moto) could otherwise hand
            # two workers messages of the same group, and group order would be lost.
            with self._fifo_receive_lock:
                batch = poller.receive(size, 0)
            if not batch:
                self._stop.wait(_FIFO_IDLE_S)
            return batch
        batch = poller.receive(size, _LONG_POLL_S)
        if not batch:
            return batch
        deadline = time.monotonic() + window
        while len(batch) < size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = poller.receive(size - len(batch), min(int(remaining), _LONG_POLL_S))
            if not more and remaining < 1:
                self._stop.wait(min(remaining, 0.05))
            batch.extend(more)
        return batch

    def _process(self, poller: SqsPoller, messages: list[dict[str, Any]]) -> None:
        region = self._endpoints.region
        records = [sqs_record(message, self._source, region) for message in messages]
        wanted = [matches_any(self._patterns, sqs_filter_view(record)) for record in records]
        kept = [record for record, keep in zip(records, wanted, strict=True) if keep]
        dropped = [record["receiptHandle"] for record, keep in zip(records, wanted, strict=True) if not keep]
        if dropped:  # AWS deletes messages that match no filter
            poller.delete(dropped)
        if not kept:
            return
        result = self._invoker.invoke(
            self._spec.logical_id, {"Records": kept}, source=self.source_name, block=True, stop=self._stop
        )
        if result.error is not None:
            return  # nothing deleted: the messages return after the visibility timeout
        failed: set[str] | None = set()
        if self._source.report_batch_item_failures:
            failed = failed_message_ids(result.payload, {record["messageId"] for record in kept})
        if failed is None:
            log.warning("%s: malformed batchItemFailures %r, the whole batch fails", self.source_name, result.payload)
            return
        poller.delete([record["receiptHandle"] for record in kept if record["messageId"] not in failed])
