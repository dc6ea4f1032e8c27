"""What the benchmark learns from the runtime: every invocation, told through the observer seam.

The observer only appends (it runs on the invoking thread, so it must be quick); all the
arithmetic happens once the run is over, in `summarise`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from localcloud.runtime.results import InvocationRecord


@dataclass(frozen=True)
class Sample:
    """One finished invocation, reduced to what the figures need."""

    function: str
    source_kind: str  # "sqs", "stream", "http", "async", "direct", "schedule"
    started_at: float
    finished_at: float
    duration_ms: float
    init_duration_ms: float | None
    cold_start: bool
    aws_calls: dict[str, int]
    source_waits_ms: tuple[float, ...]  # per record: invocation start - when the record entered its source
    ok: bool

    def entered_before(self, moment: float) -> bool:
        """Every record of this invocation entered its source before `moment` (so the run did not cause it)."""
        waits = self.source_waits_ms
        return bool(waits) and all(self.started_at - wait / 1000.0 < moment for wait in waits)


def source_waits_ms(source_kind: str, event: Any, started_at: float) -> tuple[float, ...]:
    """How long each record waited in its queue or stream before this invocation started.

    SQS: `attributes.SentTimestamp` (epoch ms). Stream: `dynamodb.ApproximateCreationDateTime`
    (epoch s; moto keeps sub-second precision, AWS rounds it to the second, so there stream waits
    read up to 1 s high).
    """
    records = event.get("Records", []) if isinstance(event, dict) else []
    waits = []
    for record in records:
        if source_kind == "sqs":
            sent = record.get("attributes", {}).get("SentTimestamp")
            if sent is not None:
                waits.append((started_at - int(sent) / 1000.0) * 1000.0)
        elif source_kind == "stream":
            created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
            if created is not None:
                waits.append((started_at - float(created)) * 1000.0)
    return tuple(waits)


class BenchObserver:
    """Collects a `Sample` per invocation; `quiet_for` tells when the pipeline has gone idle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._last_finish = time.monotonic()

    def on_invocation(self, record: InvocationRecord) -> None:
        kind = record.source.split(":", 1)[0]
        result = record.result
        sample = Sample(
            function=record.function,
            source_kind=kind,
            started_at=record.started_at,
            finished_at=record.finished_at,
            duration_ms=result.duration_ms,
            init_duration_ms=result.init_duration_ms,
            cold_start=result.cold_start,
            aws_calls=dict(result.aws_calls),
            source_waits_ms=source_waits_ms(kind, record.event, record.started_at),
            ok=result.ok,
        )
        with self._lock:
            self._samples.append(sample)
            self._last_finish = time.monotonic()

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def quiet_for(self) -> float:
        """Seconds since the last invocation finished."""
        with self._lock:
            return time.monotonic() - self._last_finish


def percentiles(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50/p90/p99 (nearest rank: always a value that was measured) and max, in the values' unit."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": None, "p90": None, "p99": None, "max": None}

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 1)

    return {"count": len(ordered), "p50": rank(50), "p90": rank(90), "p99": rank(99), "max": round(ordered[-1], 1)}


def summarise(samples: list[Sample], orders: int) -> dict[str, Any]:
    """Per-function stages, AWS calls per order and cold starts, from every invocation of the run."""
    by_function: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_function[sample.function].append(sample)
    stages: dict[str, Any] = {}
    cold_starts: dict[str, Any] = {}
    calls_total: Counter[str] = Counter()
    for function in sorted(by_function):
        group = by_function[function]
        calls: Counter[str] = Counter()
        for sample in group:
            calls.update(sample.aws_calls)
        calls_total.update(calls)
        stages[function] = {
            "invocations": len(group),
            "errors": sum(1 for s in group if not s.ok),
            "sources": sorted({s.source_kind for s in group}),
            "records": sum(len(s.source_waits_ms) for s in group),
            "invoke_ms": percentiles(s.duration_ms for s in group),
            "source_wait_ms": percentiles(w for s in group for w in s.source_waits_ms),
            "aws_calls": sum(calls.values()),
        }
        inits = [s.init_duration_ms for s in group if s.cold_start and s.init_duration_ms is not None]
        cold_starts[function] = {"count": sum(1 for s in group if s.cold_start), "init_ms": percentiles(inits)}
    total = sum(calls_total.values())
    return {
        "stages": stages,
        "cold_starts": cold_starts,
        "aws_calls": {
            "total": total,
            "per_order": round(total / orders, 2) if orders else None,
            "by_operation_per_order": {
                op: round(n / orders, 2) if orders else None for op, n in sorted(calls_total.items(), key=lambda kv: -kv[1])
            },
            "by_operation_total": dict(sorted(calls_total.items(), key=lambda kv: -kv[1])),
        },
    }
