"""What an invocation returns, and the observer seam every invocation passes through.

`Observer.on_invocation` is the one hook for recording (`orderflow record`), benchmarks
(latency per stage, AWS calls per invocation) and fault injection: it sees every
invocation, whatever triggered it, after the result is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# Where an invocation came from: "sqs:<esm id>", "stream:<esm id>", "http", "async", "direct", "schedule".
Source = str


@dataclass(frozen=True)
class InvokeResult:
    """One invocation's outcome, in Lambda's terms.

    `error` has Lambda's shape (errorType, errorMessage, stackTrace) for handler errors, init
    errors, timeouts ("Sandbox.Timedout") and throttles ("TooManyRequestsException").
    `aws_calls` counts the boto3 calls the handler made ("sqs.SendMessage" -> n), counted
    inside the handler's process; a cold start includes the calls made at import.
    """

    request_id: str
    payload: Any = None
    error: dict[str, Any] | None = None
    timed_out: bool = False
    duration_ms: float = 0.0
    cold_start: bool = False
    aws_calls: dict[str, int] = field(default_factory=dict)
    init_duration_ms: float | None = None
    throttled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class InvocationRecord:
    """What an observer is told about one finished invocation.

    `started_at` and `finished_at` are `time.time()` seconds, taken in the runtime around the
    whole invocation (waiting for an environment, cold start, handler), so an observer can
    split latency into queueing and execution with `result.duration_ms`.
    """

    function: str  # the function's logical id
    source: Source
    event: Any
    result: InvokeResult
    started_at: float
    finished_at: float


@runtime_checkable
class Observer(Protocol):
    """Told about every invocation, on the invoking thread; must be quick and must not raise
    (an exception is logged and dropped so an observer can never break event delivery)."""

    def on_invocation(self, record: InvocationRecord) -> None: ...
