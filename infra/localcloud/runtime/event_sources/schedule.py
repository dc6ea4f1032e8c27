"""`Schedule` events: `rate(...)` expressions drive async invokes with EventBridge's event shape.

`cron(...)` is not run locally (it is reported once at start); a rate fires first one period
after start, as an EventBridge rule does after it is created. `scale` multiplies every
period so tests and demos need not wait minutes.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from localcloud.model import FunctionSpec, ScheduleSource
from localcloud.runtime.event_sources.base import EventSource

log = logging.getLogger(__name__)

_RATE = re.compile(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of a `rate(...)` expression; None for anything else (cron)."""
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        return None
    value, unit = int(match.group(1)), match.group(2).rstrip("s")
    return value * _UNIT_S[unit]


def scheduled_event(rule_arn: str, region: str, account_id: str) -> dict[str, Any]:
    """What an EventBridge scheduled rule sends its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduleRunner(EventSource):
    """Every enabled rate schedule of a stack, one thread each, submitting an async invoke per period."""

    def __init__(
        self,
        functions: list[FunctionSpec],
        submit: Callable[[str, Any], None],
        *,
        region: str,
        account_id: str,
        stack_name: str,
        scale: float = 1.0,
    ) -> None:
        super().__init__("schedule")
        self._submit = submit
        self._region = region
        self._account_id = account_id
        self._stack_name = stack_name
        self._runs: list[tuple[FunctionSpec, ScheduleSource, float]] = []
        for spec in functions:
            for schedule in spec.schedules:
                if not schedule.enabled:
                    continue
                period = rate_seconds(schedule.expression)
                if period is None:
                    log.warning("%s: schedule %r is not run locally (only rate(...) is)", spec.logical_id, schedule.expression)
                    continue
                self._runs.append((spec, schedule, period * scale))

    def start(self) -> None:
        for spec, schedule, period_s in self._runs:
            self.spawn(lambda spec=spec, schedule=schedule, period_s=period_s: self._run(spec, schedule, period_s))

    def _run(self, spec: FunctionSpec, schedule: ScheduleSource, period_s: float) -> None:
        rule_arn = f"arn:aws:events:{self._region}:{self._account_id}:rule/{self._stack_name}-{schedule.logical_id}"
        while not self._stop.wait(period_s):
            event = json.loads(schedule.input) if schedule.input else scheduled_event(rule_arn, self._region, self._account_id)
            self._submit(spec.logical_id, event)
