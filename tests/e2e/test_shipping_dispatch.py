"""The warehouse's dispatch through the local cloud: HTTP in; the order SHIPPED, OrderShipped out and the
shipment DISPATCHED by it; cancel refused once shipped; and cancel racing dispatch, which exactly one wins."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from .conftest import Shop

pytestmark = pytest.mark.e2e

RACES = 4  # orders on which cancel and dispatch are fired at the same moment
SETTLE_S = 60  # the saga and the fan-out after a cancel: generous, the machine is shared


def dispatch(shop: Shop, order_id: str) -> requests.Response:
    return shop.http.post(f"{shop.api_url}/shipments/{order_id}/dispatch", timeout=30)


def shipment(shop: Shop, order_id: str) -> dict[str, Any] | None:
    item = shop.dynamodb.get_item(
        TableName=shop.cloud.stack.physical_id("ShipmentsTable"), Key={"order_id": {"S": order_id}}, ConsistentRead=True
    ).get("Item")
    return {key: next(iter(value.values())) for key, value in item.items()} if item else None


def wait_shipment(shop: Shop, order_id: str, status: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = shipment(shop, order_id)
        if found is not None and found["status"] == status:
            return found
        assert time.monotonic() < deadline, f"shipment of {order_id} is {found and found['status']}, wanted {status}"
        time.sleep(0.2)


def ready_to_ship(shop: Shop) -> str:
    """A CONFIRMED order whose shipment the shipping consumer has created."""
    order_id = shop.place([(shop.put_product(stock=5), 1)])
    shop.wait_status(order_id, "CONFIRMED")
    wait_shipment(shop, order_id, "READY_TO_SHIP")
    return order_id


def test_dispatch_ships_the_order_once_and_cancel_is_refused_after(shop: Shop) -> None:
    order_id = ready_to_ship(shop)

    first = dispatch(shop, order_id)

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["order_id"], body["order_status"]) == (order_id, "SHIPPED")
    order = shop.order(order_id)
    assert order["status"] == "SHIPPED" and order["history"][-1]["step"] == "SHIPPED"
    stored = wait_shipment(shop, order_id, "DISPATCHED")  # OrderShipped reached shipping
    assert stored["shipment_id"] == body["shipment_id"]
    again = dispatch(shop, order_id)
    assert (again.status_code, again.json()) == (200, body)  # idempotent: the same answer, nothing moved
    assert shop.order(order_id)["version"] == order["version"]

    refused = shop.cancel(order_id)
    assert refused.status_code == 409, refused.text
    assert "SHIPPED" in refused.json()["message"] and refused.json()["errors"] == [{"status": "SHIPPED"}]
    assert shop.order(order_id)["status"] == "SHIPPED"

    shipped = shop.events.wait_for(order_id, "OrderShipped")
    assert shipped["payload"]["status"] == "SHIPPED" and shipped["payload"]["version"] == order["version"]
    assert [e["event_type"] for e in shop.events.events(order_id)].count("OrderShipped") == 1
    assert [operation for operation, _ in shop.ledger(order_id)] == ["authorize", "capture"]  # paid at commit, never refunded


def test_shipped_fans_out_to_search_and_a_notice(shop: Shop) -> None:
    order_id = ready_to_ship(shop)
    assert dispatch(shop, order_id).status_code == 200
    search_table = shop.cloud.stack.physical_id("SearchTable")
    receipts = shop.cloud.stack.physical_id("ReceiptsBucket")
    s3 = shop.cloud.client("s3")
    deadline = time.monotonic() + 30
    while True:
        document = shop.dynamodb.get_item(TableName=search_table, Key={"order_id": {"S": order_id}}, ConsistentRead=True).get("Item", {})
        notices = s3.list_objects_v2(Bucket=receipts, Prefix=f"receipts/{order_id}/OrderShipped").get("KeyCount", 0)
        if document.get("status", {}).get("S") == "SHIPPED" and notices == 1:
            break
        assert time.monotonic() < deadline, f"search document {document.get('status')}, shipped notices {notices}"
        time.sleep(0.2)
    notice = s3.get_object(Bucket=receipts, Key=f"receipts/{order_id}/OrderShipped.html")["Body"].read().decode()
    assert "on its way" in notice and order_id in notice


def test_a_cancelled_order_is_never_dispatched(shop: Shop) -> None:
    order_id = ready_to_ship(shop)
    assert shop.cancel(order_id).status_code == 202

    refused = dispatch(shop, order_id)

    assert refused.status_code == 409, refused.text
    assert refused.json()["errors"][0]["status"] in ("CANCEL_REQUESTED", "CANCELLED")
    shop.wait_status(order_id, "CANCELLED", timeout_s=SETTLE_S)
    wait_shipment(shop, order_id, "CANCELLED", timeout_s=SETTLE_S)  # the OrderCancelled reached shipping
    again = dispatch(shop, order_id)
    assert again.status_code == 409 and again.json()["errors"] == [{"status": "CANCELLED", "shipment_status": "CANCELLED"}]
    assert "SHIPPED" not in [h["status"] for h in shop.order(order_id)["history"]]


def test_dispatch_of_an_unknown_order_or_one_without_shipment_is_404(shop: Shop) -> None:
    assert dispatch(shop, "no-such-order").status_code == 404
    declined = shop.place([(shop.put_product(stock=5), 1)], token="tok_declined")
    assert shop.wait_settled(declined)["status"] == "REJECTED"
    refused = dispatch(shop, declined)
    assert refused.status_code == 409 and refused.json()["errors"] == [{"status": "REJECTED", "shipment_status": None}]


def test_cancel_and_dispatch_at_the_same_time_exactly_one_wins(shop: Shop) -> None:
    orders = [ready_to_ship(shop) for _ in range(RACES)]

    def race(order_id: str) -> tuple[int, int]:
        start = threading.Barrier(2)

        def fire(call: Any) -> int:
            start.wait(timeout=10)
            return int(call(order_id).status_code)

        with ThreadPoolExecutor(max_workers=2) as pool:
            cancel = pool.submit(fire, lambda o: shop.cancel(o))
            shipped = pool.submit(fire, lambda o: dispatch(shop, o))
            return cancel.result(timeout=60), shipped.result(timeout=60)

    outcomes = {order_id: race(order_id) for order_id in orders}

    for order_id, (cancel, dispatched) in outcomes.items():
        assert (cancel, dispatched) in ((202, 409), (409, 200)), outcomes
        if dispatched == 200:
            assert shop.order(order_id)["status"] == "SHIPPED"
            wait_shipment(shop, order_id, "DISPATCHED", timeout_s=SETTLE_S)
            assert [operation for operation, _ in shop.ledger(order_id)] == ["authorize", "capture"]
        else:
            shop.wait_status(order_id, "CANCELLED", timeout_s=SETTLE_S)
            wait_shipment(shop, order_id, "CANCELLED", timeout_s=SETTLE_S)  # the cancellation reached shipping
            assert "dispatched_at" not in shipment(shop, order_id)  # type: ignore[operator]  # never dispatched, not even half
            assert "SHIPPED" not in [h["status"] for h in shop.order(order_id)["history"]]
            assert [operation for operation, _ in shop.ledger(order_id)] == ["authorize", "capture", "refund"]
