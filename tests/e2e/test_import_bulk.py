"""Bulk import through the local cloud: a JSON Lines file uploaded to the import bucket becomes
orders through S3 -> SQS -> ImportFunction; bad lines go to the error report; a re-upload adds nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from consumers.imports import ImportObject, line_idempotency_key
from localcloud.cloud import LocalCloud
from orders.service import order_id_for

from .conftest import Shop, order_body

pytestmark = pytest.mark.e2e

BAD_LINES = (10, 50, 90)  # malformed JSON, a quantity of 0, an unknown sku


def import_file(sku: str) -> list[bytes]:
    """100 order lines, 3 of them bad."""
    lines = [json.dumps(order_body([(sku, 1)], customer_id=f"cust-import-{n}")).encode() for n in range(1, 101)]
    lines[10 - 1] = b'{"customer_id": "cust-import-10", "items": ['
    lines[50 - 1] = json.dumps(order_body([(sku, 0)], customer_id="cust-import-50")).encode()
    lines[90 - 1] = json.dumps(order_body([("SKU-NOT-SOLD", 1)], customer_id="cust-import-90")).encode()
    return lines


class Importer:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.s3 = cloud.client("s3")
        self.dynamodb = cloud.client("dynamodb")
        self.bucket = cloud.stack.physical_id("ImportBucket")
        self.orders_table = cloud.stack.physical_id("OrdersTable")

    def runs(self) -> tuple[int, int]:
        """(invocations so far, in flight now) of ImportFunction."""
        stats = self.cloud.runtime.stats()["ImportFunction"]
        return stats["invocations"], stats["in_flight"]

    def upload_and_wait(self, key: str, lines: list[bytes], timeout_s: float = 180) -> dict[str, Any]:
        """Upload, wait for the import it triggers to finish, return its report."""
        invocations_before, _ = self.runs()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"\n".join(lines) + b"\n")
        deadline = time.monotonic() + timeout_s
        while self.runs()[0] <= invocations_before or self.runs()[1] > 0:
            assert time.monotonic() < deadline, f"the import of {key} did not finish within {timeout_s}s"
            time.sleep(0.2)
        body = self.s3.get_object(Bucket=self.bucket, Key=f"reports/{key}.errors.json")["Body"].read()
        return dict(json.loads(body))

    def existing_orders(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(order_ids), 100):
            keys = [{"order_id": {"S": oid}} for oid in order_ids[start : start + 100]]
            request = {self.orders_table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                found.update({item["order_id"]["S"]: item for item in response["Responses"][self.orders_table]})
                request = response.get("UnprocessedKeys") or {}
        return found


@pytest.fixture(scope="module")
def importer(cloud: LocalCloud) -> Importer:
    return Importer(cloud)


def test_a_100_line_import_with_3_bad_lines_places_97_orders_and_reuploading_adds_nothing(shop: Shop, importer: Importer) -> None:
    sku = shop.put_product(stock=1000, price_cents=500)
    key = "imports/e2e batch 001.jsonl"
    lines = import_file(sku)
    source = ImportObject(importer.bucket, key)
    expected_ids = [order_id_for(line_idempotency_key(source, n, line)) for n, line in enumerate(lines, start=1) if n not in BAD_LINES]
    orders_before = shop.order_count()

    report = importer.upload_and_wait(key, lines)

    assert (report["lines"], report["accepted"], report["rejected"]) == (100, 97, 3)
    assert [e["line"] for e in report["errors"]] == [10, 50, 90]
    assert "malformed JSON" in report["errors"][0]["reason"]
    assert "items.0.quantity" in report["errors"][1]["reason"]
    assert "SKU-NOT-SOLD" in report["errors"][2]["reason"]
    placed = importer.existing_orders(expected_ids)
    assert len(placed) == 97
    assert {o["customer_id"]["S"] for o in placed.values()} == {f"cust-import-{n}" for n in range(1, 101) if n not in BAD_LINES}
    assert all(o["total_cents"]["N"] == "500" for o in placed.values())
    assert shop.order_count() == orders_before + 97

    again = importer.upload_and_wait(key, lines)

    assert again == report
    assert shop.order_count() == orders_before + 97

    # The imported orders run the same checkout as API orders.
    for order_id in expected_ids[:3] + expected_ids[-3:]:
        assert shop.wait_settled(order_id, timeout_s=120)["status"] == "CONFIRMED"


def test_objects_outside_imports_jsonl_trigger_nothing_and_no_import_ever_failed(importer: Importer, shop: Shop) -> None:
    dlq = importer.cloud.stack.physical_id("ImportDLQ")
    orders_before = shop.order_count()
    invocations_before, _ = importer.runs()
    importer.s3.put_object(Bucket=importer.bucket, Key="elsewhere/orders.jsonl", Body=b"{}\n")
    importer.s3.put_object(Bucket=importer.bucket, Key="imports/readme.txt", Body=b"not an import\n")
    shop.wait_queue_idle("ImportQueue")
    assert importer.runs()[0] == invocations_before
    assert shop.order_count() == orders_before
    depth = shop.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert depth["ApproximateNumberOfMessages"] == "0"
    # Including S3's s3:TestEvent, which the emulator sends when the deployer configures the notification.
    assert importer.cloud.runtime.stats()["ImportFunction"]["errors"] == 0
