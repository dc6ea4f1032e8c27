"""The consumers' rules over their store ports, with in-memory fakes (tests/unit/fakes.py).

Each rule decides what to write and under which condition; the fakes keep the adapters'
guarantees (write-once, newer-version-only, settle-from-READY_TO_SHIP), so these tests say what
a duplicate, a late event or an unknown type does without any AWS.
"""

from __future__ import annotations

import json

from consumers.archive import archive_event, archive_key
from consumers.envelope import read_header, read_order_event
from consumers.lake import append_to_lake, lake_key
from consumers.ports import Outcome
from consumers.projection import project
from consumers.receipts import store_receipt
from consumers.shipments import apply_to_shipment
from orders.events import EventType

from .fakes import Documents, Objects, ShipmentRows
from .test_consumers_logic import envelope


def event(event_type: EventType = EventType.ORDER_CONFIRMED, **overrides: object):  # type: ignore[no-untyped-def]
    return read_order_event(envelope(event_type, **overrides))


class TestReceipts:
    def test_a_receipt_is_written_once_and_a_duplicate_skipped(self) -> None:
        receipts, confirmed = Objects(), event()
        assert store_receipt(confirmed, receipts) is Outcome.WRITTEN
        assert store_receipt(confirmed, receipts) is Outcome.DUPLICATE
        assert receipts.writes == 1
        assert receipts.metadata["receipts/ord-1/OrderConfirmed.html"] == {"event-id": confirmed.event_id}

    def test_events_without_a_receipt_write_nothing(self) -> None:
        receipts = Objects()
        assert store_receipt(event(EventType.ORDER_PLACED, status="PENDING", version=1), receipts) is Outcome.SKIPPED
        assert receipts.objects == {}


class TestArchive:
    def test_an_event_is_filed_once_as_published(self) -> None:
        archive, body = Objects(), envelope()
        header = read_header(body)
        assert archive_event(header, body, archive) is Outcome.WRITTEN
        tampered = json.loads(body) | {"correlation_id": "other"}
        assert archive_event(header, json.dumps(tampered), archive) is Outcome.DUPLICATE
        assert archive.objects == {archive_key(header): body.encode()} and archive.writes == 1


class TestLake:
    def test_a_replay_rewrites_the_same_bytes_under_the_same_key(self) -> None:
        lake, confirmed = Objects(), event()
        assert append_to_lake(confirmed, lake) is Outcome.WRITTEN
        first = dict(lake.objects)
        assert append_to_lake(confirmed, lake) is Outcome.WRITTEN
        assert lake.objects == first and list(first) == [lake_key(confirmed)]


class TestProjection:
    def test_only_a_newer_version_replaces_the_document(self) -> None:
        documents = Documents()
        confirmed, placed = event(version=2), event(EventType.ORDER_PLACED, status="PENDING", version=1)
        assert project(confirmed, documents) is Outcome.WRITTEN
        assert project(placed, documents) is Outcome.STALE  # late
        assert project(confirmed, documents) is Outcome.STALE  # duplicate
        assert documents.items["ord-1"]["status"] == "CONFIRMED" and documents.items["ord-1"]["version"] == 2


class TestShipments:
    def test_confirm_creates_once_and_cancel_settles_once(self) -> None:
        rows = ShipmentRows()
        confirmed, cancelled = event(version=2), event(EventType.ORDER_CANCELLED, status="CANCELLED", version=4)
        assert apply_to_shipment(confirmed, rows) is Outcome.WRITTEN
        assert apply_to_shipment(confirmed, rows) is Outcome.DUPLICATE
        assert apply_to_shipment(cancelled, rows) is Outcome.WRITTEN
        assert apply_to_shipment(cancelled, rows) is Outcome.DUPLICATE
        row = rows.items["ord-1"]
        assert (row["status"], row["created_by_event"], row["cancelled_by_event"]) == ("CANCELLED", confirmed.event_id, cancelled.event_id)

    def test_a_cancel_before_its_confirm_leaves_a_tombstone_the_confirm_cannot_revive(self) -> None:
        rows = ShipmentRows()
        assert apply_to_shipment(event(EventType.ORDER_CANCELLED, status="CANCELLED", version=4), rows) is Outcome.WRITTEN
        assert apply_to_shipment(event(version=2), rows) is Outcome.DUPLICATE
        assert rows.items["ord-1"]["status"] == "CANCELLED" and "created_by_event" not in rows.items["ord-1"]

    def test_a_dispatched_shipment_is_never_cancelled(self) -> None:
        rows = ShipmentRows()
        apply_to_shipment(event(version=2), rows)
        assert apply_to_shipment(event(EventType.ORDER_SHIPPED, status="SHIPPED", version=3), rows) is Outcome.WRITTEN
        dispatched = dict(rows.items["ord-1"])
        assert apply_to_shipment(event(EventType.ORDER_CANCELLED, status="CANCELLED", version=4), rows) is Outcome.DUPLICATE
        assert rows.items["ord-1"] == dispatched and dispatched["status"] == "DISPATCHED"

    def test_other_event_types_are_skipped(self) -> None:
        rows = ShipmentRows()
        assert apply_to_shipment(event(EventType.ORDER_PLACED, status="PENDING", version=1), rows) is Outcome.SKIPPED
        assert rows.items == {}
