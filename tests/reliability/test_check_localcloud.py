"""`orderflow check` on the local cloud: a normal run has no violation; tampered state is named, order by order."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from localcloud.cli import main
from ordertools import bench

from .conftest import Stack

pytestmark = pytest.mark.integration

PLANNED = bench.plan(bench.BenchConfig(orders=8, declined_share=0.25, sold_out_share=0.125))


@pytest.fixture(scope="module")
def ran(stack: Stack) -> set[str]:
    stack.seed(PLANNED)
    order_ids = stack.run(PLANNED, "check")
    return order_ids


def _confirmed(stack: Stack) -> list[str]:
    table = stack.cloud.stack.physical_id("OrdersTable")
    items = stack.cloud.client("dynamodb").scan(TableName=table)["Items"]
    return sorted(i["order_id"]["S"] for i in items if i["status"]["S"] == "CONFIRMED")


def test_a_normal_run_has_no_violation(stack: Stack, ran: set[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = stack.check()
    assert report.ok, report.violations
    assert report.orders_by_status == dict(sorted(Counter(p.expected.split("/")[0] for p in PLANNED).items()))
    state = stack.write_state(tmp_path / "state.json")
    assert main(["check", "--state-file", str(state), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_tampered_state_is_named_with_the_order(stack: Stack, ran: set[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _confirmed(stack)[:2]
    s3, ddb = stack.cloud.client("s3"), stack.cloud.client("dynamodb")
    receipts = stack.cloud.stack.physical_id("ReceiptsBucket")
    body = s3.get_object(Bucket=receipts, Key=f"receipts/{first}/OrderConfirmed.html")["Body"].read()
    s3.delete_object(Bucket=receipts, Key=f"receipts/{first}/OrderConfirmed.html")
    orders = stack.cloud.stack.physical_id("OrdersTable")
    ddb.update_item(TableName=orders, Key={"order_id": {"S": second}}, UpdateExpression="SET #s = :p",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":p": {"S": "PENDING"}})
    try:
        state = stack.write_state(tmp_path / "state.json")
        stock = tmp_path / "stock.json"
        stock.write_text(json.dumps({sku: n + 1 for sku, n in stack.initial_stock.items()}))
        code = main(["check", "--state-file", str(state), "--initial-stock", str(stock), "--json", "--out", str(tmp_path / "c.json")])
        report = json.loads(capsys.readouterr().out)
        fired = {(v["rule"], v["subject"]) for v in report["violations"]}
        assert code == 1
        assert ("one_receipt", first) in fired
        assert ("terminal", second) in fired
        assert ("stock_conserved", "BENCH-A") in fired
        assert json.loads((tmp_path / "c.json").read_text()) == report
    finally:
        s3.put_object(Bucket=receipts, Key=f"receipts/{first}/OrderConfirmed.html", Body=body)
        ddb.update_item(TableName=orders, Key={"order_id": {"S": second}}, UpdateExpression="SET #s = :c",
                        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":c": {"S": "CONFIRMED"}})
