"""Where each published event is filed in the archive, and how to find a time range again.

Partitioning by type first, then date and hour, lets a reader list exactly the prefixes of a
type and time range (one LIST per hour) instead of scanning the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from consumers.envelope import EventHeader


def archive_key(header: EventHeader) -> str:
    ts = header.occurred_at_utc
    return f"events/event_type={header.event_type}/dt={ts.date().isoformat()}/hour={ts.hour:02d}/{header.event_id}.json"


def archive_prefixes(event_types: Iterable[str], start: datetime, end: datetime) -> Iterator[str]:
    """The hour prefixes covering [start, end] for each event type, oldest first."""
    start_hour = _utc(start).replace(minute=0, second=0, microsecond=0)
    end_utc = _utc(end)
    for event_type in event_types:
        hour = start_hour
        while hour <= end_utc:
            yield f"events/event_type={event_type}/dt={hour.date().isoformat()}/hour={hour.hour:02d}/"
            hour += timedelta(hours=1)


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
