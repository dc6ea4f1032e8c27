"""Asynchronous invocation (InvocationType Event, schedules): Lambda's internal queue, locally.

Each function has a delay queue and `WORKERS_PER_FUNCTION` workers. An event that fails is
retried up to `AsyncInvokeConfig.maximum_retry_attempts` times, after `retry_delays_s`
(AWS waits about 1 minute, then 2 minutes; the default here is the same curve scaled to
1 s and 2 s), and dropped once older than `maximum_event_age_s`. Outcomes go to the
on_success / on_failure destinations in AWS's invocation record shape. Throttles are not
failures: like Lambda, the worker waits for concurrency instead.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud.model import DeployedStack, FunctionSpec
from localcloud.runtime.event_sources.destinations import Destinations
from localcloud.runtime.invoker import Invoker, RuntimeStopped
from localcloud.runtime.results import InvokeResult

log = logging.getLogger(__name__)

WORKERS_PER_FUNCTION = 2
DEFAULT_RETRY_DELAYS_S = (1.0, 2.0)


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    request_id: str = field(compare=False)
    event: Any = field(compare=False)
    source: str = field(compare=False)
    enqueued_at: float = field(compare=False)
    attempts: int = field(default=0, compare=False)


class _DelayQueue:
    """A heap of events ordered by when they are due."""

    def __init__(self) -> None:
        self._heap: list[_Pending] = []
        self._cond = threading.Condition()

    def put(self, item: _Pending) -> None:
        with self._cond:
            heapq.heappush(self._heap, item)
            self._cond.notify()

    def get(self, stop: threading.Event) -> _Pending | None:
        with self._cond:
            while not stop.is_set():
                now = time.monotonic()
                if self._heap and self._heap[0].due <= now:
                    return heapq.heappop(self._heap)
                timeout = min(self._heap[0].due - now, 0.5) if self._heap else 0.5
                self._cond.wait(timeout)
            return None

    def __len__(self) -> int:
        with self._cond:
            return len(self._heap)

    def wake_all(self) -> None:
        with self._cond:
            self._cond.notify_all()


def invocation_record(
    spec: FunctionSpec, item: _Pending, condition: str, result: InvokeResult | None
) -> dict[str, Any]:
    """AWS's async invocation record (what a destination receives)."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": item.request_id,
            "functionArn": f"{spec.arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": item.attempts,
        },
        "requestPayload": item.event,
    }
    if result is not None:
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result.error is not None:
            response_context["functionError"] = "Unhandled"
        record["responseContext"] = response_context
        record["responsePayload"] = result.error if result.error is not None else result.payload
    return record


class AsyncInvoker:
    def __init__(
        self,
        invoker: Invoker,
        stack: DeployedStack,
        destinations: Destinations,
        retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S,
    ) -> None:
        self._invoker = invoker
        self._stack = stack
        self._destinations = destinations
        self._retry_delays_s = retry_delays_s or (0.0,)
        self._stop = threading.Event()
        self._seq = itertools.count()
        self._queues = {logical_id: _DelayQueue() for logical_id in stack.functions}
        self._threads = [
            threading.Thread(target=self._work, args=(logical_id,), name=f"async:{logical_id}:{i}", daemon=True)
            for logical_id in stack.functions
            for i in range(WORKERS_PER_FUNCTION)
        ]
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()

    def submit(self, name: str, event: Any, source: str = "async") -> str:
        """Queue an event for `name`; returns the request id at once (Lambda's 202)."""
        spec = self._stack.function(name)
        request_id = str(uuid.uuid4())
        now = time.monotonic()
        self._queues[spec.logical_id].put(_Pending(now, next(self._seq), request_id, event, source, now))
        return request_id

    def pending(self) -> dict[str, int]:
        return {logical_id: len(queue) for logical_id, queue in self._queues.items()}

    def stop(self) -> None:
        self._stop.set()
        for queue in self._queues.values():
            queue.wake_all()

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            if thread.is_alive() or thread.ident is not None:
                thread.join(max(deadline - time.monotonic(), 0))

    def _work(self, logical_id: str) -> None:
        spec = self._stack.functions[logical_id]
        queue = self._queues[logical_id]
        while (item := queue.get(self._stop)) is not None:
            try:
                self._handle(spec, queue, item)
            except RuntimeStopped:
                return
            except Exception:  # noqa: BLE001 - a destination failed: log it, keep serving
                log.exception("async invoke of %s failed", logical_id)

    def _handle(self, spec: FunctionSpec, queue: _DelayQueue, item: _Pending) -> None:
        config = spec.async_config
        if time.monotonic() - item.enqueued_at > config.maximum_event_age_s:
            self._deliver(config.on_failure_arn, spec, item, "EventAgeExceeded", None)
            return
        result = self._invoker.invoke(
            spec.logical_id, item.event, source=item.source, block=True, stop=self._stop, request_id=item.request_id
        )
        item.attempts += 1
        if result.error is None:
            self._deliver(config.on_success_arn, spec, item, "Success", result)
        elif item.attempts <= config.maximum_retry_attempts:
            delay = self._retry_delays_s[min(item.attempts - 1, len(self._retry_delays_s) - 1)]
            item.due = time.monotonic() + delay
            item.seq = next(self._seq)
            if item.due - item.enqueued_at > config.maximum_event_age_s:
                self._deliver(config.on_failure_arn, spec, item, "EventAgeExceeded", result)
            else:
                queue.put(item)
        else:
            self._deliver(config.on_failure_arn, spec, item, "RetriesExhausted", result)

    def _deliver(self, arn: str | None, spec: FunctionSpec, item: _Pending, condition: str, result: InvokeResult | None) -> None:
        if arn is None:
            if condition != "Success":
                log.warning("async event %s for %s dropped: %s", item.request_id, spec.logical_id, condition)
            return
        self._destinations.send(arn, invocation_record(spec, item, condition, result))
