"""The fault plan: which faults the local cloud injects, at which rates, reproducibly from a seed.

    --faults all --seed 7            # a preset
    --faults plan.json --seed 7      # {"faults": [{"kind": "dynamodb_throttling", "rate": 0.05}, ...]}

A fault is a kind, a rate (the share of matching calls it hits), and optionally the service and
operations it is restricted to and a time window (seconds after the plan is armed). Whether the
n-th matching call of a fault is hit depends only on (seed, fault, n): the same seed and the same
sequence of calls fire the same faults. Kinds are injected by three seams, each outside `functions/`:

- the fault proxy (`faults.proxy`), in front of the emulator endpoint: emulator errors;
- the payment sandbox (`payment_sandbox.server`): provider timeouts and lost responses;
- kinds marked `TO_COME` need the runtime's execution environments and event source pollers
  (being rewritten): they are named here so plans can already list them, and refused by
  `FaultPlan.validate_injectable()` until their seam is wired (`faults.crash` is the one for crashes).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class FaultKind(StrEnum):
    DYNAMODB_THROTTLING = "dynamodb_throttling"  # 400 ThrottlingException
    DYNAMODB_THROUGHPUT_EXCEEDED = "dynamodb_throughput_exceeded"  # 400 ProvisionedThroughputExceededException
    DYNAMODB_TRANSACTION_CONFLICT = "dynamodb_transaction_conflict"  # 400 TransactionConflictException / TransactionCanceled
    HTTP_500 = "http_500"  # any service: InternalError in the service's wire shape
    HTTP_503 = "http_503"  # any service: ServiceUnavailable
    PAYMENT_TIMEOUT_BEFORE_CHARGE = "payment_timeout_before_charge"  # the provider hangs and does nothing
    PAYMENT_RESPONSE_LOST = "payment_response_lost"  # the provider acts, the answer never arrives
    # To come: these need the runtime's environments and pollers (runtime/event_sources, the fork server).
    CRASH_AFTER_SIDE_EFFECT = "crash_after_side_effect"
    DUPLICATE_DELIVERY = "duplicate_delivery"
    REORDERED_DELIVERY = "reordered_delivery"
    INVOCATION_TIMEOUT = "invocation_timeout"
    RUNTIME_KILL = "runtime_kill"


PROXY_KINDS = frozenset(
    {FaultKind.DYNAMODB_THROTTLING, FaultKind.DYNAMODB_THROUGHPUT_EXCEEDED, FaultKind.DYNAMODB_TRANSACTION_CONFLICT, FaultKind.HTTP_500, FaultKind.HTTP_503}
)
PAYMENT_KINDS = frozenset({FaultKind.PAYMENT_TIMEOUT_BEFORE_CHARGE, FaultKind.PAYMENT_RESPONSE_LOST})
TO_COME = frozenset(set(FaultKind) - PROXY_KINDS - PAYMENT_KINDS)
DYNAMODB_KINDS = frozenset({FaultKind.DYNAMODB_THROTTLING, FaultKind.DYNAMODB_THROUGHPUT_EXCEEDED, FaultKind.DYNAMODB_TRANSACTION_CONFLICT})
# DynamoDB operations a conflict with a concurrent transaction can refuse.
CONFLICTING_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})


class FaultPlanError(ValueError):
    """A plan that cannot be used (unknown preset or kind, a rate outside 0..1): its message names the field."""


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    rate: float
    service: str | None = None  # "dynamodb", "sns", "sqs", "s3", "payments"; None: every service the kind applies to
    operations: frozenset[str] = frozenset()  # e.g. {"Publish"}; empty: every operation
    after_s: float = 0.0  # active from this many seconds after arming...
    for_s: float | None = None  # ...for this long (None: until the end)
    max_hits: int | None = None  # fire at most this many times (None: no limit)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise FaultPlanError(f"fault {self.kind}: rate {self.rate} is not within 0..1")

    @property
    def label(self) -> str:
        where = ".".join(filter(None, [self.service, ",".join(sorted(self.operations)) or None]))
        return f"{self.kind}@{where}" if where else str(self.kind)

    def applies(self, service: str, operation: str, elapsed_s: float) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.operations and operation not in self.operations:
            return False
        if self.kind in DYNAMODB_KINDS and service != "dynamodb":
            return False
        if self.kind is FaultKind.DYNAMODB_TRANSACTION_CONFLICT and operation not in CONFLICTING_OPERATIONS:
            return False
        if self.kind in PAYMENT_KINDS and service != "payments":
            return False
        if elapsed_s < self.after_s:
            return False
        return self.for_s is None or elapsed_s < self.after_s + self.for_s


@dataclass(frozen=True)
class FaultPlan:
    faults: tuple[Fault, ...] = ()
    seed: int = 0
    name: str = "custom"

    def kinds(self) -> set[FaultKind]:
        return {f.kind for f in self.faults}

    def validate_injectable(self) -> None:
        waiting = sorted(k for k in self.kinds() if k in TO_COME)
        if waiting:
            raise FaultPlanError(f"fault kinds {waiting} are not injectable yet (they need the runtime's new event sources and environments)")

    @classmethod
    def load(cls, spec: str, seed: int = 0) -> FaultPlan:
        """A preset name, or a JSON file `{"faults": [{"kind": ..., "rate": ..., "service"?, "operations"?, "after_s"?, "for_s"?}]}`."""
        if spec in PRESETS:
            return cls(PRESETS[spec], seed, spec)
        path = Path(spec)
        if not path.is_file():
            raise FaultPlanError(f"--faults {spec!r} is neither a preset ({', '.join(sorted(PRESETS))}) nor a file")
        try:
            data = json.loads(path.read_text())
            return cls(tuple(fault_from_json(entry) for entry in data["faults"]), seed, path.stem)
        except (ValueError, KeyError, TypeError) as error:
            raise FaultPlanError(f"{path}: {error}") from error


def fault_from_json(entry: dict[str, Any]) -> Fault:
    try:
        kind = FaultKind(entry["kind"])
    except ValueError:
        raise FaultPlanError(f"unknown fault kind {entry['kind']!r} (known: {', '.join(k.value for k in FaultKind)})") from None
    return Fault(
        kind=kind,
        rate=float(entry["rate"]),
        service=entry.get("service"),
        operations=frozenset(entry.get("operations") or ()),
        after_s=float(entry.get("after_s", 0.0)),
        for_s=float(entry["for_s"]) if entry.get("for_s") is not None else None,
        max_hits=int(entry["max_hits"]) if entry.get("max_hits") is not None else None,
    )


_EMULATOR = (
    Fault(FaultKind.DYNAMODB_THROTTLING, 0.03),
    Fault(FaultKind.DYNAMODB_THROUGHPUT_EXCEEDED, 0.02),
    Fault(FaultKind.DYNAMODB_TRANSACTION_CONFLICT, 0.03),
    Fault(FaultKind.HTTP_500, 0.01, service="sns"),
    Fault(FaultKind.HTTP_503, 0.01, service="s3"),
    Fault(FaultKind.HTTP_500, 0.01, service="sqs", operations=frozenset({"SendMessage", "SendMessageBatch", "DeleteMessageBatch"})),
)
_PAYMENTS = (
    Fault(FaultKind.PAYMENT_TIMEOUT_BEFORE_CHARGE, 0.05, service="payments"),
    Fault(FaultKind.PAYMENT_RESPONSE_LOST, 0.05, service="payments"),
)
PRESETS: dict[str, tuple[Fault, ...]] = {
    "none": (),
    "emulator": _EMULATOR,
    "payments": _PAYMENTS,
    "all": _EMULATOR + _PAYMENTS,
    # The relay's path down for 20 s: every SNS publish fails (what stranded orders in issue 12); the relay uses PublishBatch.
    "relay-outage": (Fault(FaultKind.HTTP_500, 1.0, service="sns", operations=frozenset({"Publish", "PublishBatch"}), for_s=20.0),),
}


@dataclass
class FaultInjector:
    """Decides, per call, which fault (if any) hits it; counts what fired. Thread-safe; inactive until armed."""

    plan: FaultPlan
    _armed_at: float | None = None
    _calls: Counter[int] = field(default_factory=Counter)
    _hits: Counter[int] = field(default_factory=Counter)
    fired: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, plan: FaultPlan | None = None) -> None:
        """Start the plan's clock (windows count from here), optionally with a new plan; counts what fires from zero."""
        with self._lock:
            if plan is not None:
                self.plan = plan
            self._calls.clear()
            self._hits.clear()
            self.fired.clear()
            self._armed_at = time.monotonic()

    def disarm(self) -> None:
        with self._lock:
            self._armed_at = None

    def decide(self, service: str, operation: str) -> Fault | None:
        with self._lock:
            if self._armed_at is None:
                return None
            elapsed = time.monotonic() - self._armed_at
            for index, fault in enumerate(self.plan.faults):
                if not fault.applies(service, operation, elapsed) or (fault.max_hits is not None and self._hits[index] >= fault.max_hits):
                    continue
                self._calls[index] += 1
                if _hit(self.plan.seed, index, self._calls[index], fault.rate):
                    self._hits[index] += 1
                    self.fired[fault.kind.value] += 1
                    return fault
            return None

    def fired_by_kind(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self.fired.items()))

    def payment_fault(self, operation: str) -> str | None:
        """The payment sandbox's decider (`PaymentSandbox.set_faults`): a payment kind's name without its prefix."""
        fault = self.decide("payments", operation)
        return fault.kind.value.removeprefix("payment_") if fault is not None else None


def _hit(seed: int, index: int, call: int, rate: float) -> bool:
    """A deterministic coin: the same (seed, fault, n-th call) always lands the same way."""
    if rate >= 1.0:
        return True
    digest = hashlib.blake2b(f"{seed}:{index}:{call}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate
