"""The archive reader lists only the partitions a query needs and returns events in publication order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.archive import archive_key
from consumers.envelope import read_header
from orders.events import EventEnvelope, EventType
from ordertools.archive import ArchivedEvent, ArchiveQuery, ArchiveReader

T0 = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)


def envelope(order_id: str, event_type: EventType, version: int, at: datetime) -> EventEnvelope:
    payload = {"order_id": order_id, "customer_id": "c1", "status": "PENDING", "version": version}
    return EventEnvelope.for_order(event_type, payload, version=version, correlation_id="corr", occurred_at=at)


def archive(s3, bucket: str, envelopes: list[EventEnvelope]) -> dict[str, str]:
    """File envelopes exactly as the archive consumer does (its own key function)."""
    stored = {}
    for env in envelopes:
        body = env.model_dump_json()
        key = archive_key(read_header(body))
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
        stored[key] = body
    return stored


class CountingS3:
    """Counts list calls by prefix so a test can see which partitions were listed."""

    def __init__(self, s3):
        self._s3 = s3
        self.listed: list[str] = []

    def get_paginator(self, name):
        paginator = self._s3.get_paginator(name)
        outer = self

        class _Paginator:
            def paginate(self, **kwargs):
                outer.listed.append(kwargs["Prefix"])
                return paginator.paginate(**kwargs)

        return _Paginator()

    def get_object(self, **kwargs):
        return self._s3.get_object(**kwargs)


def test_message_attributes_match_the_publisher():
    env = envelope("o1", EventType.ORDER_CONFIRMED, 2, T0)
    body = env.model_dump_json()
    assert ArchivedEvent.parse("k", body).message_attributes() == env.message_attributes()


def test_reads_only_matching_partitions_in_publication_order(stack):
    bucket = stack.bucket("ArchiveBucket")
    s3 = stack.endpoints.client("s3")
    envelopes = []
    for n in range(6):  # six orders over ~3 days, each placed then confirmed 10 minutes later
        at = T0 + timedelta(hours=11 * n)
        envelopes.append(envelope(f"o{n}", EventType.ORDER_PLACED, 1, at))
        envelopes.append(envelope(f"o{n}", EventType.ORDER_CONFIRMED, 2, at + timedelta(minutes=10)))
    envelopes.append(envelope("o0", EventType.ORDER_CANCELLED, 3, T0 + timedelta(days=5)))
    stored = archive(s3, bucket, list(reversed(envelopes)))
    counting = CountingS3(s3)
    reader = ArchiveReader(counting, bucket)

    everything = reader.read(ArchiveQuery())
    assert [e.body for e in everything] == [stored[e.key] for e in everything]
    assert [(e.order_id, e.event_type) for e in everything][:4] == [
        ("o0", "OrderPlaced"), ("o0", "OrderConfirmed"), ("o1", "OrderPlaced"), ("o1", "OrderConfirmed")
    ]
    assert len(everything) == 13

    counting.listed.clear()
    since, until = T0 + timedelta(hours=20), T0 + timedelta(hours=70)  # 03-02 18:30 .. 03-04 20:30
    placed = reader.read(ArchiveQuery(since=since, until=until, event_types=("OrderPlaced",)))
    assert [e.order_id for e in placed] == ["o2", "o3", "o4", "o5"]
    # days present: 03-01 (o0 22:30, o1 09:30 next day...), listed once; partial days listed by their hours
    assert counting.listed[:1] == ["events/event_type=OrderPlaced/"]
    assert "events/event_type=OrderPlaced/dt=2026-03-03/" in counting.listed  # a whole day: one prefix
    assert "events/event_type=OrderPlaced/dt=2026-03-02/hour=20/" in counting.listed  # o2, at the ragged start
    assert "events/event_type=OrderPlaced/dt=2026-03-02/hour=09/" not in counting.listed  # o1, before since
    assert "events/event_type=OrderPlaced/dt=2026-03-01/" not in counting.listed
    assert not any("OrderConfirmed" in p or "OrderCancelled" in p for p in counting.listed)

    by_order = reader.read(ArchiveQuery(order_ids=frozenset({"o0"})))
    assert [e.event_type for e in by_order] == ["OrderPlaced", "OrderConfirmed", "OrderCancelled"]

    counting.listed.clear()
    only_until = reader.read(ArchiveQuery(until=T0 + timedelta(hours=1), event_types=("OrderConfirmed",)))
    assert [e.order_id for e in only_until] == ["o0"]
    assert counting.listed == [
        "events/event_type=OrderConfirmed/",
        "events/event_type=OrderConfirmed/dt=2026-03-01/",
        "events/event_type=OrderConfirmed/dt=2026-03-01/hour=22/",
    ]
