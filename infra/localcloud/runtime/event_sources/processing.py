"""The one processing step every polled source shares: filter, invoke, read the response.

A batch is filtered (records that match no pattern are not delivered), sent through the
invoker, and the function's response read as Lambda reads it: with `ReportBatchItemFailures`
the `batchItemFailures[].itemIdentifier` values name the records to retry — the SQS
`messageId`, or the stream record's `dynamodb.SequenceNumber`.
Source: https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html and
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.runtime.event_sources.filters import matches_any
from localcloud.runtime.invoker import Invoker
from localcloud.runtime.results import InvokeResult

Record = dict[str, Any]


def sqs_identifier(record: Record) -> str:
    return str(record["messageId"])


def stream_identifier(record: Record) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def failed_identifiers(payload: Any, identifiers: set[str]) -> set[str] | None:
    """The records a ReportBatchItemFailures response asks to retry; None means the whole batch
    failed, as AWS treats a malformed response (unknown, empty or missing itemIdentifier)."""
    if not isinstance(payload, dict) or payload.get("batchItemFailures") is None:
        return set()
    failures = payload["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    failed = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(item, str) or item not in identifiers:
            return None
        failed.add(item)
    return failed


@dataclass(frozen=True)
class Outcome:
    """What one invocation of a batch came to: `failed` None is the whole batch."""

    result: InvokeResult
    failed: set[str] | None

    @property
    def function_error(self) -> bool:
        return self.result.error is not None

    @property
    def malformed(self) -> bool:
        """The function returned, but its batchItemFailures could not be read."""
        return self.result.error is None and self.failed is None


class BatchProcessor:
    """Filters and invokes batches of one mapping, and reads what the function asked to retry."""

    def __init__(
        self,
        invoker: Invoker,
        function: str,
        source_name: str,
        patterns: Sequence[dict[str, Any]],
        report_batch_item_failures: bool,
        identifier: Callable[[Record], str],
        stop: threading.Event,
    ) -> None:
        self._invoker = invoker
        self._function = function
        self._source_name = source_name
        self._patterns = patterns
        self._report = report_batch_item_failures
        self._identifier = identifier
        self._stop = stop

    def wanted(self, record: Record, view: Record | None = None) -> bool:
        """Whether a record passes the mapping's filters (`view` is what filters see, if not the record)."""
        return matches_any(self._patterns, record if view is None else view)

    def invoke(self, records: list[Record]) -> Outcome:
        result = self._invoker.invoke(self._function, {"Records": records}, source=self._source_name, block=True, stop=self._stop)
        if result.error is not None:
            return Outcome(result, None)
        if not self._report:
            return Outcome(result, set())
        return Outcome(result, failed_identifiers(result.payload, {self._identifier(r) for r in records}))
