"""Where each published event is filed in the archive, and how to find a time range again.

This module is the one place that knows the layout
`events/event_type={type}/dt={YYYY-MM-DD}/hour={HH}/{event_id}.json` (UTC hour of `occurred_at`).
Partitioning by type first, then date and hour, lets a reader list exactly the prefixes of a
type and time range (one LIST per hour) instead of scanning the archive.

The archive is write-once: the key depends only on the event and the put is conditional, so a
redelivery or a replay adds no object and no version, and nothing overwrites an archived event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from consumers.envelope import EventHeader
from consumers.ports import Outcome, WriteOnceObjects

ARCHIVE_ROOT = "events/"


def type_prefix(event_type: str) -> str:
    return f"{ARCHIVE_ROOT}event_type={event_type}/"


def day_prefix(event_type: str, day: date) -> str:
    return f"{type_prefix(event_type)}dt={day.isoformat()}/"


def hour_prefix(event_type: str, ts: datetime) -> str:
    utc = _utc(ts)
    return f"{day_prefix(event_type, utc.date())}hour={utc.hour:02d}/"


def archive_key(header: EventHeader) -> str:
    return f"{hour_prefix(header.event_type, header.occurred_at_utc)}{header.event_id}.json"


def archive_event(header: EventHeader, envelope: str, archive: WriteOnceObjects) -> Outcome:
    """File the envelope exactly as published, once: a second copy is DUPLICATE and changes nothing."""
    return archive.put_once(archive_key(header), envelope.encode())


def archive_prefixes(event_types: Iterable[str], start: datetime, end: datetime) -> Iterator[str]:
    """The hour prefixes covering [start, end] for each event type, oldest first."""
    start_hour = _utc(start).replace(minute=0, second=0, microsecond=0)
    end_utc = _utc(end)
    for event_type in event_types:
        hour = start_hour
        while hour <= end_utc:
            yield hour_prefix(event_type, hour)
            hour += timedelta(hours=1)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
