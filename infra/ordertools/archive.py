"""Reading the event archive back: only the partitions a query needs, events in publication order.

The archive writer files each published envelope, byte for byte, at the key
`functions/consumers/archive.py` lays out: `events/event_type=X/dt=YYYY-MM-DD/hour=HH/{event_id}.json`,
by the event's `occurred_at` in UTC. This reader runs in the tools' process, which does not import
the functions' code, so it parses that layout here; tests/replay/test_archive.py writes with the
writer's `archive_key` and reads with this module, so the two cannot drift apart. A query by type and time range therefore lists whole-day prefixes for the days it covers
entirely and hour prefixes only at its ragged ends, and only partitions that exist; the order
id lives in the payload, so that filter is applied after reading.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ROOT = "events/"


@dataclass(frozen=True)
class ArchiveQuery:
    """Which events to read; every field left empty means "all"."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    event_types: tuple[str, ...] = ()
    order_ids: frozenset[str] = field(default_factory=frozenset)

    def wants(self, event: ArchivedEvent) -> bool:
        if self.since and event.occurred_at < utc(self.since):
            return False
        if self.until and event.occurred_at >= utc(self.until):
            return False
        return not self.order_ids or event.order_id in self.order_ids


@dataclass(frozen=True)
class ArchivedEvent:
    """One archived envelope; `body` is the exact text that was published."""

    key: str
    body: str
    event_id: str
    event_type: str
    schema_version: int
    occurred_at: datetime
    order_id: str | None
    order_version: int | None

    @classmethod
    def parse(cls, key: str, body: str) -> ArchivedEvent:
        doc = json.loads(body)
        payload = doc.get("payload") if isinstance(doc.get("payload"), dict) else {}
        return cls(
            key=key,
            body=body,
            event_id=doc["event_id"],
            event_type=doc["event_type"],
            schema_version=int(doc.get("schema_version", 1)),
            occurred_at=utc(datetime.fromisoformat(doc["occurred_at"].replace("Z", "+00:00"))),
            order_id=payload.get("order_id"),
            order_version=payload.get("version"),
        )

    def message_attributes(self) -> dict[str, dict[str, str]]:
        """The SNS attributes the publisher sets (EventEnvelope.message_attributes): filter policies match on them."""
        return {
            "event_type": {"DataType": "String", "StringValue": self.event_type},
            "schema_version": {"DataType": "Number", "StringValue": str(self.schema_version)},
        }

    @property
    def sort_key(self) -> tuple[datetime, int, str]:
        return (self.occurred_at, self.order_version or 0, self.event_id)


class ArchiveReader:
    def __init__(self, s3: Any, bucket: str, *, workers: int = 8):
        self._s3 = s3
        self._bucket = bucket
        self._workers = workers

    def event_types(self) -> list[str]:
        return [p.removeprefix(ROOT + "event_type=").rstrip("/") for p in self._common_prefixes(ROOT)]

    def prefixes(self, query: ArchiveQuery) -> list[str]:
        """The fewest prefixes whose objects cover the query's types and time range.

        Only partitions that exist are considered (one delimiter LIST per type for its days, one
        per partially covered day for its hours), so an open or long range costs no empty LISTs.
        """
        found = []
        for event_type in query.event_types or tuple(self.event_types()):
            type_prefix = f"{ROOT}event_type={event_type}/"
            if query.since is None and query.until is None:
                found.append(type_prefix)
                continue
            since = utc(query.since) if query.since else datetime.min.replace(tzinfo=UTC)
            until = utc(query.until) if query.until else datetime.max.replace(tzinfo=UTC)
            for day_prefix in self._common_prefixes(type_prefix):
                day_start = datetime.fromisoformat(day_prefix.removeprefix(type_prefix + "dt=").rstrip("/")).replace(tzinfo=UTC)
                coverage = _overlap(day_start, timedelta(days=1), since, until)
                if coverage == "all":
                    found.append(day_prefix)
                elif coverage == "some":
                    for hour_prefix in self._common_prefixes(day_prefix):
                        hour = int(hour_prefix.removeprefix(day_prefix + "hour=").rstrip("/"))
                        if _overlap(day_start + timedelta(hours=hour), timedelta(hours=1), since, until) != "none":
                            found.append(hour_prefix)
        return found

    def keys(self, query: ArchiveQuery) -> Iterator[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        for prefix in self.prefixes(query):
            for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    if obj["Key"].endswith(".json"):
                        yield obj["Key"]

    def read(self, query: ArchiveQuery) -> list[ArchivedEvent]:
        """The matching events, oldest first (and by order version within the same instant)."""
        keys = list(self.keys(query))
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            events = list(pool.map(self._get, keys))
        return sorted((e for e in events if query.wants(e)), key=lambda e: e.sort_key)

    def _get(self, key: str) -> ArchivedEvent:
        body = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read().decode()
        return ArchivedEvent.parse(key, body)

    def _common_prefixes(self, prefix: str) -> list[str]:
        paginator = self._s3.get_paginator("list_objects_v2")
        found: list[str] = []
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix, Delimiter="/"):
            found += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return sorted(found)


def _overlap(start: datetime, length: timedelta, since: datetime, until: datetime) -> str:
    """How much of the partition [start, start+length) lies in [since, until): "all", "some" or "none"."""
    end = start + length
    if end <= since or start >= until:
        return "none"
    return "all" if since <= start and end <= until else "some"


def utc(ts: datetime) -> datetime:
    """Naive times are UTC, as the archive writer files them."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """`--since/--until`: ISO 8601 (`2026-11-24`, `2026-11-24T10:00`, `...Z`) or relative (`90m`, `6h`, `2d` ago)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
