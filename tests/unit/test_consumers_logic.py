"""The consumers' pure rules: reading envelopes, receipts, shipments, lake, search, archive, import."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from consumers.archive import archive_key, archive_prefixes
from consumers.envelope import UnsupportedSchemaVersion, envelope_text, read_header, read_order_event, utc_iso
from consumers.imports import (
    ImportObject,
    ImportReport,
    PlaceOrder,
    line_idempotency_key,
    numbered_lines,
    objects_to_import,
    parse_line,
    report_key,
    run_import,
    split_lines,
    validation_reason,
)
from consumers.lake import lake_key, lake_object, lake_record
from consumers.projection import search_document
from consumers.receipts import money, receipt_key, render_receipt
from consumers.shipments import new_shipment, settlement, shipment_id_for
from orders.cart import InvalidCart
from orders.events import EventEnvelope, EventType
from orders.models import OrderRequest, ShipmentStatus

OCCURRED = datetime(2025, 3, 4, 23, 59, 58, tzinfo=UTC)


def snapshot(**overrides: object) -> dict:
    base = {
        "order_id": "ord-1",
        "customer_id": "cust-7",
        "status": "CONFIRMED",
        "reason": None,
        "items": [
            {"sku": "SKU-MUG", "name": "Mug <blue>", "quantity": 2, "unit_price_cents": 1250, "line_total_cents": 2500},
            {"sku": "SKU-TEE", "name": "T-shirt", "quantity": 1, "unit_price_cents": 1999, "line_total_cents": 1999},
        ],
        "total_cents": 4499,
        "currency": "EUR",
        "shipping_address": {"name": "Ada", "line1": "1 Loop St", "city": "Lyon", "postal_code": "69001", "country": "FR"},
        "created_at": "2025-03-04T23:59:50+00:00",
        "updated_at": "2025-03-04T23:59:58+00:00",
        "version": 3,
        "a_field_from_the_future": {"ignored": True},
    }
    base.update(overrides)
    return base


def envelope(event_type: EventType = EventType.ORDER_CONFIRMED, **payload_overrides: object) -> str:
    payload = snapshot(**payload_overrides)
    return EventEnvelope.for_order(
        event_type, payload, version=int(payload["version"]), correlation_id="corr-1", occurred_at=OCCURRED
    ).model_dump_json()


class TestEnvelope:
    def test_reads_the_publishers_envelope_and_ignores_unknown_fields(self) -> None:
        event = read_order_event(envelope())
        assert event.event_type == "OrderConfirmed"
        assert event.payload.order_id == "ord-1"
        assert [line.sku for line in event.payload.items] == ["SKU-MUG", "SKU-TEE"]
        assert event.correlation_id == "corr-1"

    def test_unwraps_an_sns_notification_body(self) -> None:
        raw = envelope()
        wrapped = json.dumps({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": raw})
        assert envelope_text(wrapped) == raw
        assert read_order_event(wrapped) == read_order_event(raw)

    @pytest.mark.parametrize("version", [2, "2"])
    def test_a_newer_schema_version_is_refused_not_half_read(self, version: object) -> None:
        doc = json.loads(envelope())
        doc["schema_version"] = version
        doc["payload"] = {"order": "restructured"}
        with pytest.raises(UnsupportedSchemaVersion, match="schema_version 2"):
            read_order_event(json.dumps(doc))

    def test_the_header_reads_any_schema_version(self) -> None:
        doc = json.loads(envelope())
        doc["schema_version"] = 9
        assert read_header(json.dumps(doc)).schema_version == 9

    @pytest.mark.parametrize(
        "body",
        ["not json", "[1, 2]", json.dumps({"event_type": "OrderConfirmed"})],
        ids=["malformed", "not-an-object", "missing-fields"],
    )
    def test_bad_bodies_raise(self, body: str) -> None:
        with pytest.raises(ValueError):
            read_order_event(body)

    def test_path_unsafe_ids_are_refused(self) -> None:
        doc = json.loads(envelope())
        doc["event_type"] = "../../etc"
        with pytest.raises(ValidationError):
            read_header(json.dumps(doc))


class TestReceipt:
    def test_key_is_per_order_and_event_type(self) -> None:
        assert receipt_key("ord-1", "OrderConfirmed") == "receipts/ord-1/OrderConfirmed.html"

    def test_renders_lines_totals_and_address_escaped(self) -> None:
        html = render_receipt(read_order_event(envelope()))
        assert "Mug &lt;blue&gt;" in html and "Mug <blue>" not in html
        assert "12.50 EUR" in html and "25.00 EUR" in html and "44.99 EUR" in html
        assert "69001 Lyon" in html
        assert "your order is confirmed" in html

    def test_rendering_is_deterministic(self) -> None:
        assert render_receipt(read_order_event(envelope())) == render_receipt(read_order_event(envelope()))

    def test_shipped_notice(self) -> None:
        assert "on its way" in render_receipt(read_order_event(envelope(EventType.ORDER_SHIPPED, status="SHIPPED")))

    def test_cancellation_receipt_names_the_reason(self) -> None:
        html = render_receipt(read_order_event(envelope(EventType.ORDER_CANCELLED, status="CANCELLED", reason="CUSTOMER_REQUEST")))
        assert "has been cancelled" in html and "CUSTOMER_REQUEST" in html

    @pytest.mark.parametrize(("cents", "text"), [(0, "0.00 EUR"), (5, "0.05 EUR"), (123456, "1,234.56 EUR"), (-250, "-2.50 EUR")])
    def test_money(self, cents: int, text: str) -> None:
        assert money(cents, "EUR") == text


class TestShipment:
    def test_new_shipment_is_ready_with_lines_and_address(self) -> None:
        item = new_shipment(read_order_event(envelope()))
        assert item["order_id"] == "ord-1"
        assert item["shipment_id"] == shipment_id_for("ord-1")
        assert item["status"] == ShipmentStatus.READY_TO_SHIP
        assert item["lines"] == [{"sku": "SKU-MUG", "quantity": 2}, {"sku": "SKU-TEE", "quantity": 1}]
        assert item["ship_to"]["city"] == "Lyon"

    def test_cancellation_names_the_same_shipment(self) -> None:
        changes = settlement(read_order_event(envelope(EventType.ORDER_CANCELLED, status="CANCELLED")), ShipmentStatus.CANCELLED)
        assert changes["status"] == ShipmentStatus.CANCELLED
        assert changes["shipment_id"] == shipment_id_for("ord-1")

    def test_dispatch_names_the_same_shipment_and_when(self) -> None:
        event = read_order_event(envelope(EventType.ORDER_SHIPPED, status="SHIPPED"))
        changes = settlement(event, ShipmentStatus.DISPATCHED)
        assert (changes["status"], changes["shipment_id"]) == (ShipmentStatus.DISPATCHED, shipment_id_for("ord-1"))
        assert (changes["dispatched_at"], changes["dispatched_by_event"]) == (utc_iso(event.occurred_at), event.event_id)


class TestLake:
    def test_key_is_partitioned_by_utc_date_and_type(self) -> None:
        event = read_order_event(envelope())
        assert lake_key(event) == f"analytics/dt=2025-03-04/event_type=OrderConfirmed/{event.event_id}.json"

    def test_key_date_is_utc_whatever_the_offset(self) -> None:
        doc = json.loads(envelope())
        doc["occurred_at"] = "2025-03-05T00:30:00+02:00"  # 2025-03-04T22:30Z
        assert "/dt=2025-03-04/" in lake_key(read_order_event(json.dumps(doc)))

    def test_record_is_flat_and_bytes_are_stable(self) -> None:
        event = read_order_event(envelope())
        record = lake_record(event)
        assert record["item_count"] == 3 and record["total_cents"] == 4499 and record["country"] == "FR"
        assert lake_object(event) == lake_object(read_order_event(envelope()))
        assert json.loads(lake_object(event)) == record


class TestSearchDocument:
    def test_projection_fields(self) -> None:
        doc = search_document(read_order_event(envelope()))
        assert doc["order_id"] == "ord-1" and doc["customer_id"] == "cust-7" and doc["status"] == "CONFIRMED"
        assert doc["skus"] == ["SKU-MUG", "SKU-TEE"]
        assert doc["version"] == 3
        assert doc["updated_at"] == "2025-03-04T23:59:58.000Z"
        assert "reason" not in doc

    def test_rejected_order_keeps_its_reason(self) -> None:
        doc = search_document(read_order_event(envelope(EventType.ORDER_REJECTED, status="REJECTED", reason="OUT_OF_STOCK")))
        assert doc["reason"] == "OUT_OF_STOCK"


class TestArchive:
    def test_key_partitions_by_type_date_hour(self) -> None:
        header = read_header(envelope())
        assert archive_key(header) == f"events/event_type=OrderConfirmed/dt=2025-03-04/hour=23/{header.event_id}.json"

    def test_prefixes_cover_the_range_hour_by_hour(self) -> None:
        start = datetime(2025, 3, 4, 22, 15, tzinfo=UTC)
        end = datetime(2025, 3, 5, 0, 5, tzinfo=UTC)
        assert list(archive_prefixes(["OrderPlaced"], start, end)) == [
            "events/event_type=OrderPlaced/dt=2025-03-04/hour=22/",
            "events/event_type=OrderPlaced/dt=2025-03-04/hour=23/",
            "events/event_type=OrderPlaced/dt=2025-03-05/hour=00/",
        ]


def s3_notification(key: str, bucket: str = "imports-bucket", event_name: str = "ObjectCreated:Put") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "us-east-1",
                    "eventName": event_name,
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}},
                }
            ]
        }
    )


class TestImportPlan:
    def test_notification_names_the_object_with_its_key_decoded(self) -> None:
        assert objects_to_import(s3_notification("imports/march+orders%3A1.jsonl")) == [
            ImportObject("imports-bucket", "imports/march orders:1.jsonl")
        ]

    def test_s3_test_event_names_nothing(self) -> None:
        test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2025-03-04T00:00:00Z", "Bucket": "imports-bucket"}
        assert objects_to_import(json.dumps(test_event)) == []

    @pytest.mark.parametrize(
        "body",
        [s3_notification("other/x.jsonl"), s3_notification("imports/x.csv"), s3_notification("imports/x.jsonl", event_name="ObjectRemoved:Delete")],
        ids=["other-prefix", "other-suffix", "removal"],
    )
    def test_objects_that_are_not_imports_are_ignored(self, body: str) -> None:
        assert objects_to_import(body) == []

    def test_idempotency_key_depends_on_place_and_content(self) -> None:
        source = ImportObject("b", "imports/a.jsonl")
        key = line_idempotency_key(source, 3, b'{"x":1}')
        assert key == line_idempotency_key(ImportObject("b", "imports/a.jsonl"), 3, b'{"x":1}')
        others = {
            line_idempotency_key(source, 4, b'{"x":1}'),
            line_idempotency_key(source, 3, b'{"x":2}'),
            line_idempotency_key(ImportObject("b", "imports/b.jsonl"), 3, b'{"x":1}'),
            line_idempotency_key(ImportObject("c", "imports/a.jsonl"), 3, b'{"x":1}'),
        }
        assert key not in others and len(others) == 4

    def test_lines_split_on_lf_whatever_the_chunks(self) -> None:
        data = b'{"a":1}\r\n\n{"b":2}\n{"c":3}'
        expected = [b'{"a":1}\r', b"", b'{"b":2}', b'{"c":3}']
        for size in (1, 2, 3, 7, 8, len(data)):
            chunks = [data[i : i + size] for i in range(0, len(data), size)]
            assert list(split_lines(chunks)) == expected, size

    def test_lines_are_numbered_physically_and_blank_ones_skipped(self) -> None:
        assert list(numbered_lines([b'{"a":1}\r\n', b"\n", b"  \n", b'{"b":2}'])) == [(1, b'{"a":1}'), (4, b'{"b":2}')]

    def test_a_byte_order_mark_before_line_one_is_dropped_and_only_there(self) -> None:
        bom = b"\xef\xbb\xbf"
        lines = list(numbered_lines([bom + b'{"a":1}\r\n', bom + b'{"b":2}']))
        assert lines == [(1, b'{"a":1}'), (2, bom + b'{"b":2}')]
        assert parse_line(lines[0][1]) == {"a": 1}

    @pytest.mark.parametrize(
        ("line", "reason"),
        [(b"{oops", "malformed JSON"), (b"[1]", "expected a JSON object"), (b"\xff\xfe", "not UTF-8")],
    )
    def test_bad_lines_say_why(self, line: bytes, reason: str) -> None:
        with pytest.raises(ValueError, match=reason):
            parse_line(line)

    def test_report_counts_and_names_lines(self) -> None:
        report = ImportReport(ImportObject("b", "imports/a.jsonl"))
        report.accept()
        report.reject(2, "malformed JSON")
        doc = json.loads(report.to_json())
        assert doc == {
            "bucket": "b",
            "key": "imports/a.jsonl",
            "lines": 2,
            "accepted": 1,
            "rejected": 1,
            "errors": [{"line": 2, "reason": "malformed JSON"}],
        }
        assert report_key(report.source) == "reports/imports/a.jsonl.errors.json"

    def test_validation_reason_names_each_field(self) -> None:
        errors = [{"loc": ("items", 0, "quantity"), "msg": "Input should be greater than 0"}, {"loc": ("customer_id",), "msg": "Field required"}]
        assert validation_reason(errors) == "items.0.quantity: Input should be greater than 0; customer_id: Field required"


def order_line(customer: str = "cust-1", sku: str = "SKU-MUG", quantity: int = 1) -> bytes:
    return json.dumps(
        {
            "customer_id": customer,
            "items": [{"sku": sku, "quantity": quantity}],
            "payment_token": "tok_visa",
            "shipping_address": {"name": "Ada", "line1": "1 Loop St", "city": "Lyon", "postal_code": "69001", "country": "FR"},
        }
    ).encode()


class TestRunImport:
    SOURCE = ImportObject("imports-bucket", "imports/batch.jsonl")

    def place_into(self, placed: dict[str, OrderRequest]) -> PlaceOrder:
        def place(request: OrderRequest, key: str) -> str:
            if request.items[0].sku == "SKU-GONE":
                raise InvalidCart("unknown sku", skus=["SKU-GONE"])
            placed.setdefault(key, request)
            return key
        return place

    def test_good_lines_are_placed_and_bad_ones_reported_by_line(self) -> None:
        placed: dict[str, OrderRequest] = {}
        lines = [
            order_line("c1") + b"\n",
            b"{not json\n",
            b"\n",
            order_line("c2", quantity=0) + b"\n",
            order_line("c3", sku="SKU-GONE") + b"\n",
            order_line("c4"),
        ]
        report = run_import(self.SOURCE, lines, self.place_into(placed))
        assert sorted(r.customer_id for r in placed.values()) == ["c1", "c4"]
        assert (report.lines, report.accepted) == (5, 2)
        assert [e["line"] for e in report.errors] == [2, 4, 5]
        reasons = [e["reason"] for e in report.errors]
        assert reasons[0].startswith("malformed JSON")
        assert reasons[1].startswith("items.0.quantity:")
        assert reasons[2] == "unknown sku: SKU-GONE"

    def test_reimporting_the_same_file_uses_the_same_keys(self) -> None:
        placed: dict[str, OrderRequest] = {}
        lines = [order_line(f"c{i}") for i in range(5)]
        run_import(self.SOURCE, lines, self.place_into(placed))
        keys = set(placed)
        run_import(self.SOURCE, lines, self.place_into(placed))
        assert set(placed) == keys and len(keys) == 5

    def test_an_infrastructure_failure_fails_the_import(self) -> None:
        def place(request: OrderRequest, key: str) -> str:
            raise ConnectionError("dynamodb unreachable")

        with pytest.raises(ConnectionError):
            run_import(self.SOURCE, [order_line()], place)
