"""The DynamoDB stream event source mapping, polled by the runtime (never an ESM inside moto).

`StreamPoller` only talks to the streams API (shards, iterators, records); `stream_record`
gives a record AWS's Lambda event shape; `StreamMapping` runs one thread per mapping that
keeps each shard in order (a child shard waits for its parent), batches (`BatchSize`,
`MaximumBatchingWindowInSeconds`), filters, and on a failed batch retries it
(`MaximumRetryAttempts`, -1 = until stopped), bisects it (`BisectBatchOnFunctionError`,
which does not count as a retry), checkpoints at the lowest reported failure
(`ReportBatchItemFailures`, itemIdentifier = SequenceNumber), and finally sends AWS's
failure record to `OnFailure` (SQS or SNS) and moves on.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud.emulator import Endpoints
from localcloud.model import FunctionSpec, StreamEventSource
from localcloud.runtime.destinations import Destinations
from localcloud.runtime.filters import matches_any, parse_patterns
from localcloud.runtime.invoker import Invoker, RuntimeStopped
from localcloud.runtime.results import InvokeResult
from localcloud.runtime.sqs_poller import failed_message_ids

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.25  # Lambda polls each shard four times a second
SHARD_REFRESH_S = 1.0
RETRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


class StreamPoller:
    """Shards, iterators and records of one stream; knows nothing of Lambda."""

    def __init__(self, endpoints: Endpoints, stream_arn: str) -> None:
        self.stream_arn = stream_arn
        self._client = endpoints.client("dynamodbstreams", retries={"max_attempts": 3, "mode": "standard"})

    def shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self._client.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            kwargs["ExclusiveStartShardId"] = last

    def iterator(self, shard_id: str, iterator_type: str) -> str | None:
        response = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=iterator_type)
        return response.get("ShardIterator")

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        response = self._client.get_records(ShardIterator=iterator, Limit=max(1, min(limit, 1000)))
        return response.get("Records", []), response.get("NextShardIterator")


def _wire(value: Any) -> Any:
    """boto3 parsed the record; put it back in JSON wire form (binary as base64, times as numbers)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_wire(v) for v in value]
    return value


def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """One stream record in exactly the shape Lambda's DynamoDB event gives it."""
    ddb = _wire(raw["dynamodb"])
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": ddb.get("ApproximateCreationDateTime", time.time())}
    for key in ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
        if key in ddb:
            dynamodb[key] = ddb[key]
    record = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in raw:
        record["userIdentity"] = _wire(raw["userIdentity"])
    return record


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure_record(
    spec: FunctionSpec, source: StreamEventSource, shard_id: str, batch: list[dict[str, Any]],
    condition: str, invoke_count: int, result: InvokeResult | None,
) -> dict[str, Any]:
    """AWS's on-failure record for a stream batch (it carries the batch's coordinates, not the records)."""
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": result.request_id if result is not None else str(uuid.uuid4()),
            "functionArn": spec.arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": _iso(time.time()),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(batch[0]["dynamodb"]["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(batch[-1]["dynamodb"]["ApproximateCreationDateTime"]),
            "batchSize": len(batch),
            "streamArn": source.stream_arn,
        },
    }
    if result is not None and result.error is None:  # a malformed batchItemFailures response
        record["responseContext"].pop("functionError")
    return record


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    buffer_since: float = 0.0
    finished: bool = False
    next_poll: float = 0.0


class StreamMapping:
    """One DynamoDB stream event source mapping: one thread, shards in order."""

    def __init__(
        self, invoker: Invoker, endpoints: Endpoints, destinations: Destinations, spec: FunctionSpec, source: StreamEventSource
    ) -> None:
        self._invoker = invoker
        self._endpoints = endpoints
        self._destinations = destinations
        self._spec = spec
        self._source = source
        self._patterns = parse_patterns(source.filter_patterns)
        self._stop = threading.Event()
        self._shards: dict[str, _Shard] = {}
        self._started_shards = False
        self._poller: StreamPoller
        self._thread = threading.Thread(target=self._work, name=f"stream:{source.logical_id}", daemon=True)

    @property
    def source_name(self) -> str:
        return f"stream:{self._source.logical_id}"

    def start(self) -> None:
        """Take the shard iterators before returning, so LATEST means "after start()"."""
        self._poller = StreamPoller(self._endpoints, self._source.stream_arn)
        try:
            self._refresh_shards(self._poller, at_start=True)
            self._started_shards = True
        except Exception:  # noqa: BLE001 - the stream may not exist yet: the worker keeps trying
            log.exception("%s: could not read the stream's shards", self.source_name)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float) -> None:
        if self._thread.ident is not None:
            self._thread.join(timeout_s)

    def _work(self) -> None:
        poller = self._poller
        next_refresh = time.monotonic() + SHARD_REFRESH_S if self._started_shards else 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_refresh:
                    self._refresh_shards(poller, at_start=not self._started_shards)
                    self._started_shards = True
                    next_refresh = time.monotonic() + SHARD_REFRESH_S
                busy = False
                for shard in list(self._shards.values()):
                    busy |= self._step(poller, shard)
                if not busy:
                    self._stop.wait(IDLE_POLL_S)
            except RuntimeStopped:
                return
            except Exception:  # noqa: BLE001 - the emulator hiccuped: back off, keep polling
                log.exception("%s: polling failed", self.source_name)
                self._stop.wait(1.0)

    def _refresh_shards(self, poller: StreamPoller, at_start: bool) -> None:
        for description in poller.shards():
            shard_id = description["ShardId"]
            if shard_id in self._shards:
                continue
            shard = _Shard(shard_id, description.get("ParentShardId"))
            # Shards present when the mapping starts honour StartingPosition; later ones are read whole.
            position = self._source.starting_position if at_start else "TRIM_HORIZON"
            shard.iterator = poller.iterator(shard_id, position)
            self._shards[shard_id] = shard

    def _step(self, poller: StreamPoller, shard: _Shard) -> bool:
        """Poll one shard once and deliver a batch if one is due; True if it did work."""
        parent = self._shards.get(shard.parent_id or "")
        if shard.finished or (parent is not None and not parent.finished) or time.monotonic() < shard.next_poll:
            return False
        size = self._source.batch_size
        if shard.iterator is not None and len(shard.buffer) < size:
            records, shard.iterator = poller.records(shard.iterator, size - len(shard.buffer))
            if records and not shard.buffer:
                shard.buffer_since = time.monotonic()
            region = self._endpoints.region
            shard.buffer.extend(stream_record(raw, self._source.stream_arn, region) for raw in records)
            if not records:
                shard.next_poll = time.monotonic() + IDLE_POLL_S
        if not shard.buffer:
            shard.finished = shard.iterator is None
            return False
        window_over = time.monotonic() - shard.buffer_since >= self._source.maximum_batching_window_s
        if len(shard.buffer) < size and not window_over and shard.iterator is not None:
            return False
        batch, shard.buffer = shard.buffer[:size], shard.buffer[size:]
        shard.buffer_since = time.monotonic()
        kept = [record for record in batch if matches_any(self._patterns, record)]
        if kept:
            self._deliver(shard.shard_id, kept)
        return True

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """Invoke until each part of the batch succeeds or is given up to the on-failure destination."""
        parts = [batch]
        while parts:
            part = parts.pop(0)
            attempts = 0
            while part:
                result = self._invoker.invoke(
                    self._spec.logical_id, {"Records": part}, source=self.source_name, block=True, stop=self._stop
                )
                attempts += 1
                retry_from = self._retry_from(result, part)
                if retry_from is None:
                    break
                if result.error is not None and self._source.bisect_batch_on_function_error and len(part) > 1:
                    middle = len(part) // 2
                    parts[:0] = [part[:middle], part[middle:]]
                    break
                part = part[retry_from:]
                if self._exhausted(part, attempts):
                    self._give_up(shard_id, part, attempts, result)
                    break
                self._stop.wait(RETRY_BACKOFF_S[min(attempts - 1, len(RETRY_BACKOFF_S) - 1)])
                if self._stop.is_set():
                    raise RuntimeStopped

    def _retry_from(self, result: InvokeResult, part: list[dict[str, Any]]) -> int | None:
        """None when the part succeeded, else the index to retry from: the checkpoint of the lowest
        reported failure, or 0 (the whole part) for an error or a malformed response."""
        if result.error is not None:
            return 0
        if not self._source.report_batch_item_failures:
            return None
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in part]
        failed = failed_message_ids(result.payload, set(sequence_numbers))
        if failed is None:
            return 0
        if not failed:
            return None
        return min(sequence_numbers.index(seq) for seq in failed)

    def _exhausted(self, part: list[dict[str, Any]], attempts: int) -> bool:
        retries = self._source.maximum_retry_attempts
        if retries >= 0 and attempts > retries:
            return True
        max_age = self._source.maximum_record_age_s
        return max_age >= 0 and time.time() - part[0]["dynamodb"]["ApproximateCreationDateTime"] > max_age

    def _give_up(self, shard_id: str, part: list[dict[str, Any]], attempts: int, result: InvokeResult) -> None:
        retries = self._source.maximum_retry_attempts
        condition = "RetryAttemptsExhausted" if retries >= 0 and attempts > retries else "RecordAgeExceeded"
        arn = self._source.on_failure_arn
        if arn is None:
            log.warning("%s: dropped %d records after %d attempts (%s)", self.source_name, len(part), attempts, condition)
            return
        self._destinations.send(arn, failure_record(self._spec, self._source, shard_id, part, condition, attempts, result))
