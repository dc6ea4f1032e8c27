"""The DynamoDB stream event source mapping, polled by the runtime (never an ESM inside the emulator).

`StreamReader` only talks to the streams API; `stream_record` gives a record AWS's Lambda
event shape (with `SizeBytes` computed as DynamoDB sizes items, not the emulator's figure);
`StreamMapping` keeps each shard in order (a child shard waits for its parent), batches
(`BatchSize`, `MaximumBatchingWindowInSeconds`), filters, runs up to `ParallelizationFactor`
batches of a shard at once (records of one key always in the same lane, so in order), and on a
failed batch retries it (`MaximumRetryAttempts`), bisects it (`BisectBatchOnFunctionError`,
which does not count as a retry), checkpoints at the lowest reported failure
(`ReportBatchItemFailures`), and finally sends AWS's failure record to `OnFailure`
(SQS, SNS, or S3 with the invocation in it) and moves on.

Polling backs off while a stream is idle (0.1 s up to 1 s) and drops back to 0.1 s as soon as
records come: the streams API has no long poll, so polling is all any client can do.
Sources: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud.emulator import Endpoints
from localcloud.model import FunctionSpec, StreamEventSource
from localcloud.runtime.event_sources.base import Backoff, EventSource
from localcloud.runtime.event_sources.destinations import Destinations
from localcloud.runtime.event_sources.processing import BatchProcessor, Outcome, Record, stream_identifier
from localcloud.runtime.invoker import Invoker, RuntimeStopped

log = logging.getLogger(__name__)

IDLE_POLL_S = (0.1, 1.0)  # from Lambda's four polls a second while records come, to one a second idle
SHARD_REFRESH_S = 10.0
RETRY_BACKOFF_S = (0.2, 2.0)


class StreamReader:
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

    def iterator(self, shard_id: str, iterator_type: str, sequence_number: str | None = None) -> str | None:
        kwargs = {"SequenceNumber": sequence_number} if sequence_number else {}
        response = self._client.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=iterator_type, **kwargs
        )
        return response.get("ShardIterator")

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        response = self._client.get_records(ShardIterator=iterator, Limit=max(1, min(limit, 1000)))
        return response.get("Records", []), response.get("NextShardIterator")


class Checkpoints:
    """Where each shard's position (the last sequence number done) is read and written.

    In memory: a restarted runtime starts again from `StartingPosition`. A store on disk
    replaces this class alone.
    """

    def __init__(self) -> None:
        self._positions: dict[str, str] = {}

    def read(self, shard_id: str) -> str | None:
        return self._positions.get(shard_id)

    def write(self, shard_id: str, sequence_number: str) -> None:
        self._positions[shard_id] = sequence_number


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


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (names are counted by the caller).
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html"""
    (kind, inner), = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) if isinstance(b, str) else len(b) for b in inner)
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def stream_record(raw: dict[str, Any], stream_arn: str, region: str) -> Record:
    """One stream record in exactly the shape Lambda's DynamoDB event gives it; `SizeBytes` is
    the size of its keys and images (26 for AWS's documented INSERT of {Id: 101, Message: "New item!"})."""
    ddb = _wire(raw["dynamodb"])
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": ddb.get("ApproximateCreationDateTime", time.time())}
    for key in ("Keys", "NewImage", "OldImage", "SequenceNumber"):
        if key in ddb:
            dynamodb[key] = ddb[key]
    dynamodb["SizeBytes"] = sum(item_size(ddb[key]) for key in ("Keys", "NewImage", "OldImage") if key in ddb)
    if "StreamViewType" in ddb:
        dynamodb["StreamViewType"] = ddb["StreamViewType"]
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


def _iso_ms(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_s(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    spec: FunctionSpec, source: StreamEventSource, shard_id: str, batch: list[Record],
    condition: str, invoke_count: int, outcome: Outcome | None,
) -> dict[str, Any]:
    """AWS's on-failure record for a stream batch (the batch's coordinates, not the records):
    `functionError` is null when the function returned (bad or partial batchItemFailures), and
    the arrival times have second precision, as AWS writes them."""
    result = outcome.result if outcome is not None else None
    return {
        "requestContext": {
            "requestId": result.request_id if result is not None else str(uuid.uuid4()),
            "functionArn": spec.arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled" if outcome is None or outcome.function_error else None,
        },
        "version": "1.0",
        "timestamp": _iso_ms(time.time()),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso_s(batch[0]["dynamodb"]["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso_s(batch[-1]["dynamodb"]["ApproximateCreationDateTime"]),
            "batchSize": len(batch),
            "streamArn": source.stream_arn,
        },
    }


def s3_failure_key(mapping_id: str, shard_id: str, now: datetime | None = None) -> str:
    """AWS's key for an on-failure object: aws/lambda/<ESM UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>."""
    now = now or datetime.now(UTC)
    return f"aws/lambda/{mapping_id}/{shard_id}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"


def lanes(batch: list[Record], factor: int) -> list[list[Record]]:
    """A batch cut into at most `factor` lanes, every record of one key in the same lane, in order."""
    if factor <= 1:
        return [batch]
    by_lane: dict[int, list[Record]] = {}
    for record in batch:
        key = json.dumps(record["dynamodb"].get("Keys", {}), sort_keys=True)
        by_lane.setdefault(hash(key) % factor, []).append(record)
    return list(by_lane.values())


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    buffer: list[Record] = field(default_factory=list)
    buffer_since: float = 0.0
    finished: bool = False


class StreamMapping(EventSource):
    """One DynamoDB stream event source mapping: one poller thread, shards in order."""

    def __init__(
        self, invoker: Invoker, endpoints: Endpoints, destinations: Destinations, spec: FunctionSpec, source: StreamEventSource,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        super().__init__(f"stream:{source.logical_id}")
        self._region = endpoints.region
        self._destinations = destinations
        self._spec = spec
        self._source = source
        self._checkpoints = checkpoints or Checkpoints()
        self._reader = StreamReader(endpoints, source.stream_arn)
        self._processor = BatchProcessor(
            invoker, spec.logical_id, self.source_name, source.filter_patterns, source.report_batch_item_failures,
            stream_identifier, self._stop,
        )
        self._shards: dict[str, _Shard] = {}
        self._read_shards = False
        self._next_refresh = 0.0
        self._idle = Backoff(*IDLE_POLL_S)
        self._lanes = ThreadPoolExecutor(source.parallelization_factor, f"{self.source_name}:lane") if source.parallelization_factor > 1 else None

    def start(self) -> None:
        """Take the shard iterators before returning, so LATEST means "after start()"."""
        try:
            self._refresh_shards()
        except Exception:  # noqa: BLE001 - the stream may not exist yet: the worker keeps trying
            log.exception("%s: could not read the stream's shards", self.source_name)
        super().start()

    def join(self, timeout_s: float) -> None:
        super().join(timeout_s)
        if self._lanes is not None:
            self._lanes.shutdown(wait=False, cancel_futures=True)

    def run_once(self) -> bool:
        if time.monotonic() >= self._next_refresh:
            self._refresh_shards()
        busy = False
        for shard in list(self._shards.values()):
            busy |= self._step(shard)
        if busy:
            self._idle.reset()
        else:
            self._stop.wait(self._idle.next())
        return True

    def _refresh_shards(self) -> None:
        for description in self._reader.shards():
            shard_id = description["ShardId"]
            if shard_id in self._shards:
                continue
            shard = _Shard(shard_id, description.get("ParentShardId"))
            done = self._checkpoints.read(shard_id)
            if done is not None:
                shard.iterator = self._reader.iterator(shard_id, "AFTER_SEQUENCE_NUMBER", done)
            else:
                # Shards present when the mapping starts honour StartingPosition; later ones are read whole.
                position = self._source.starting_position if not self._read_shards else "TRIM_HORIZON"
                shard.iterator = self._reader.iterator(shard_id, position)
            self._shards[shard_id] = shard
        self._read_shards = True
        self._next_refresh = time.monotonic() + SHARD_REFRESH_S

    def _step(self, shard: _Shard) -> bool:
        """Poll one shard once and deliver a batch if one is due; True if records came or went."""
        parent = self._shards.get(shard.parent_id or "")
        if shard.finished or (parent is not None and not parent.finished):
            return False
        size = self._source.batch_size
        got = False
        if shard.iterator is not None and len(shard.buffer) < size:
            raw, shard.iterator = self._reader.records(shard.iterator, size - len(shard.buffer))
            if raw and not shard.buffer:
                shard.buffer_since = time.monotonic()
            shard.buffer.extend(stream_record(r, self._source.stream_arn, self._region) for r in raw)
            got = bool(raw)
        if not shard.buffer:
            if shard.iterator is None:
                shard.finished = True
                self._next_refresh = 0.0  # a closed shard: its children are to be read now
            return got
        window_over = time.monotonic() - shard.buffer_since >= self._source.maximum_batching_window_s
        if len(shard.buffer) < size and not window_over and shard.iterator is not None:
            return got
        batch, shard.buffer = shard.buffer[:size], shard.buffer[size:]
        shard.buffer_since = time.monotonic()
        kept = [record for record in batch if self._processor.wanted(record)]
        if kept:
            self._deliver_lanes(shard.shard_id, kept)
        self._checkpoints.write(shard.shard_id, batch[-1]["dynamodb"]["SequenceNumber"])
        return True

    def _deliver_lanes(self, shard_id: str, batch: list[Record]) -> None:
        parts = lanes(batch, self._source.parallelization_factor)
        if self._lanes is None or len(parts) == 1:
            self._deliver(shard_id, batch)
            return
        for future in [self._lanes.submit(self._deliver, shard_id, part) for part in parts]:
            future.result()

    def _deliver(self, shard_id: str, batch: list[Record]) -> None:
        """Invoke until each part of the batch succeeds or is given up to the on-failure destination.

        A valid partial failure re-forms the batch from the lowest failed record, and the re-formed
        batch's attempts are counted from zero: with MaximumRetryAttempts 3 a failing record is
        delivered 5 times (approximateInvokeCount 4), as recorded on AWS."""
        parts = [batch]
        backoff = Backoff(*RETRY_BACKOFF_S)
        while parts:
            part = parts.pop(0)
            attempts = 0
            reformed = False
            while part:
                outcome = self._processor.invoke(part)
                attempts += 1
                if outcome.failed == set():
                    break
                if outcome.function_error and self._source.bisect_batch_on_function_error and len(part) > 1:
                    middle = len(part) // 2
                    parts[:0] = [part[:middle], part[middle:]]
                    break
                if outcome.failed:  # a valid partial failure: retry from the lowest failed record
                    sequence_numbers = [stream_identifier(r) for r in part]
                    retry_from = min(sequence_numbers.index(s) for s in outcome.failed)
                    if retry_from > 0 or not reformed:
                        attempts, reformed = 0, True
                    part = part[retry_from:]
                if self._exhausted(part, attempts):
                    self._give_up(shard_id, part, attempts, outcome)
                    break
                self._stop.wait(backoff.next())
                if self._stop.is_set():
                    raise RuntimeStopped

    def _exhausted(self, part: list[Record], attempts: int) -> bool:
        retries = self._source.maximum_retry_attempts
        if retries >= 0 and attempts > retries:
            return True
        max_age = self._source.maximum_record_age_s
        return max_age >= 0 and time.time() - part[0]["dynamodb"]["ApproximateCreationDateTime"] > max_age

    def _give_up(self, shard_id: str, part: list[Record], attempts: int, outcome: Outcome) -> None:
        retries = self._source.maximum_retry_attempts
        condition = "RetryAttemptsExhausted" if retries >= 0 and attempts > retries else "RecordAgeExceeded"
        arn = self._source.on_failure_arn
        if arn is None:
            log.warning("%s: dropped %d records after %d attempts (%s)", self.source_name, len(part), attempts, condition)
            return
        record = failure_record(self._spec, self._source, shard_id, part, condition, attempts, outcome)
        if arn.split(":")[2] == "s3":  # S3 gets the invocation itself beside its metadata
            record["payload"] = json.dumps({"Records": part})
            self._destinations.send(arn, record, s3_key=s3_failure_key(self._source.mapping_id, shard_id))
        else:
            self._destinations.send(arn, record)
