"""Pacing, progress and the closing summary shared by `replay` and `dlq redrive`.

Both tools walk a list of items and do one AWS call (or a batch) per item; the operator needs the
same three things from each: don't flood the target (`--rate`), see that it moves (a bar on
stderr, which never mixes with the JSON a tool may print on stdout), and know at the end what was
done, skipped and failed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


class RateLimiter:
    """At most `rate` acquisitions per second, spread evenly (no bursts after an idle spell)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    def acquire(self, n: int = 1) -> None:
        if not self._interval:
            return
        now = self._clock()
        if self._next > now:
            self._sleep(self._next - now)
            now = self._next
        self._next = max(self._next, now) + self._interval * n


class Progress:
    """A plain-text bar on stderr: redrawn in place on a terminal, one line per 10% otherwise (CI logs)."""

    WIDTH = 30

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None, enabled: bool = True):
        self._label = label
        self._total = total
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._tty = self._stream.isatty()
        self._done = 0
        self._started = time.monotonic()
        self._last_decile = -1

    def advance(self, n: int = 1) -> None:
        self._done += n
        if not self._enabled:
            return
        if self._tty:
            self._stream.write("\r" + self._line())
            self._stream.flush()
            return
        decile = (self._done * 10 // self._total) if self._total else self._done // 100
        if decile != self._last_decile:
            self._last_decile = decile
            self._stream.write(self._line() + "\n")

    def close(self) -> None:
        if self._enabled and self._tty:
            self._stream.write("\r" + self._line() + "\n")
            self._stream.flush()

    def _line(self) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = f"{self._done / elapsed:.1f}/s"
        if not self._total:
            return f"{self._label} {self._done} {rate}"
        filled = self.WIDTH * min(self._done, self._total) // self._total
        return f"{self._label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {self._done}/{self._total} {rate}"


@dataclass
class Summary:
    """What a run did; `failures` keeps a short reason per failed item for the operator."""

    replayed: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    verb: str = "replayed"

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def render(self) -> str:
        rate = f" ({self.replayed / self.elapsed_s:.1f}/s)" if self.elapsed_s and self.replayed else ""
        lines = [f"{self.verb}: {self.replayed}{rate}  skipped: {self.skipped}  failed: {self.failed}  in {self.elapsed_s:.2f}s"]
        lines += [f"  failed: {reason}" for reason in self.failures[:20]]
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more")
        return "\n".join(lines)
