"""The one way a test waits: poll a probe that reads state, until it answers or a bounded deadline passes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], *, timeout_s: float = 60.0, interval_s: float = 0.1, message: str = "condition") -> T:
    """The probe's first truthy answer; at the deadline the test fails, naming what it waited for and the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {message} (last: {value!r:.500})")
        time.sleep(interval_s)
