"""What a replay is made of, whatever its source (event files, the archive, a DLQ): one item per delivery.

Its own module so that the sources (`ordertools.replay`, `ordertools.dlq_replay`) and the replayer
depend on it, and not on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ordertools.archive import ArchivedEvent


@dataclass(frozen=True)
class Invocation:
    """Invoke `function` with `event`; `settle` (if any) runs after a successful invoke (e.g. delete from a DLQ)."""

    function: str
    event: Any
    label: str
    settle: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class Publication:
    event: ArchivedEvent

    @property
    def label(self) -> str:
        return f"{self.event.event_type} {self.event.event_id} order={self.event.order_id}"


@dataclass(frozen=True)
class Skip:
    label: str
    reason: str


Item = Invocation | Publication | Skip
