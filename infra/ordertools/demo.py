"""`orderflow demo`: the order flow end to end on a fresh local cloud, as a table of journeys.

Starts the local cloud (template + payment sandbox), seeds the catalog, places the sample orders
(happy, declined, out of stock, duplicate, provider timeout, cancelled), waits for each to settle
(bounded), and prints each order's journey: status history, payment ledger, receipt and shipment.
Exits 0 only if every order ended where it should.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from localcloud.cloud import LocalCloud
from ordertools.seed import seed

SETTLED = ("CONFIRMED", "REJECTED", "CANCELLED")
ADDRESS = {"name": "Grace Hopper", "line1": "1 Compiler Way", "city": "Arlington", "postal_code": "22201", "country": "US"}
DEMO_PARAMETERS = {"PaymentTimeoutMs": "1000"}  # short, so the timeout scenario settles in seconds


@dataclass
class Scenario:
    name: str
    items: list[tuple[str, int]]
    token: str = "tok_visa"
    expected: tuple[str, str | None] = ("CONFIRMED", None)
    post_twice: bool = False
    cancel_after_confirm: bool = False
    receipt: bool = True
    shipment: bool = True


SCENARIOS = (
    Scenario("happy", [("MUG-001", 2), ("TEE-002", 1)]),
    Scenario("declined", [("BOOK-003", 1)], token="tok_declined", expected=("REJECTED", "PAYMENT_DECLINED"), receipt=False, shipment=False),
    Scenario("out of stock", [("LAMP-005", 2)], expected=("REJECTED", "OUT_OF_STOCK"), receipt=False, shipment=False),
    Scenario("duplicate", [("CAP-004", 1)], post_twice=True),
    Scenario("timeout", [("MUG-001", 1)], token="tok_timeout", expected=("REJECTED", "PAYMENT_TIMEOUT"), receipt=False, shipment=False),
    Scenario("cancelled", [("TEE-002", 2)], expected=("CANCELLED", "CANCELLED_BY_CUSTOMER"), cancel_after_confirm=True),
)


@dataclass
class Journey:
    scenario: Scenario
    order_id: str = ""
    status: str = "?"
    reason: str | None = None
    steps: list[str] = field(default_factory=list)
    payments: list[str] = field(default_factory=list)
    receipt: bool | None = None
    shipment: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class DemoShop:
    def __init__(self, cloud: LocalCloud, timeout_s: float) -> None:
        self.cloud = cloud
        self.http = requests.Session()
        self.timeout_s = timeout_s
        self.resources = cloud.stack.resources

    def post(self, scenario: Scenario, key: str) -> str:
        body = {
            "customer_id": f"demo-{scenario.name.replace(' ', '-')}",
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in scenario.items],
            "payment_token": scenario.token,
            "shipping_address": ADDRESS,
        }
        response = self.http.post(f"{self.cloud.api_url}/orders", json=body, headers={"Idempotency-Key": key}, timeout=30)
        if response.status_code != 202:
            raise RuntimeError(f"{scenario.name}: POST /orders answered {response.status_code} {response.text}")
        return str(response.json()["order_id"])

    def order(self, order_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self.cloud.api_url}/orders/{order_id}", timeout=30).json())

    def wait(self, order_id: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        order = self.order(order_id)
        while not done(order) and time.monotonic() < deadline:
            time.sleep(0.25)
            order = self.order(order_id)
        return order

    def payments(self, order_id: str) -> list[str]:
        sandbox = self.cloud.sidecars.get("payments")
        ledger = sandbox.ledger() if sandbox is not None else []  # type: ignore[attr-defined]
        return [f"{e['operation']}:{e['outcome']}" for e in ledger if e["reference"] == order_id]

    def receipt(self, order_id: str) -> bool | None:
        if "ReceiptsBucket" not in self.resources:
            return None
        listed = self.cloud.client("s3").list_objects_v2(Bucket=self.resources["ReceiptsBucket"].physical_id, Prefix=f"receipts/{order_id}/")
        return listed.get("KeyCount", 0) > 0

    def shipment(self, order_id: str) -> bool | None:
        if "ShipmentsTable" not in self.resources:
            return None
        item = self.cloud.client("dynamodb").get_item(
            TableName=self.resources["ShipmentsTable"].physical_id, Key={"order_id": {"S": order_id}}, ConsistentRead=True
        )
        return "Item" in item

    def wait_for(self, probe: Callable[[], bool | None], want: bool) -> bool | None:
        """Fan-out consumers run after the order settles: give a wanted side effect a bounded while to appear."""
        deadline = time.monotonic() + (self.timeout_s if want else 2.0)
        seen = probe()
        while seen is not None and seen != want and time.monotonic() < deadline:
            time.sleep(0.25)
            seen = probe()
        return seen


def run_scenario(shop: DemoShop, scenario: Scenario, run_id: str) -> Journey:
    journey = Journey(scenario)
    key = f"demo-{run_id}-{scenario.name}"
    journey.order_id = shop.post(scenario, key)
    if scenario.post_twice and shop.post(scenario, key) != journey.order_id:
        journey.problems.append("the repeated POST created a second order")
    order = shop.wait(journey.order_id, lambda o: o["status"] in SETTLED)
    if scenario.cancel_after_confirm and order["status"] == "CONFIRMED":
        shop.http.post(f"{shop.cloud.api_url}/orders/{journey.order_id}/cancel", timeout=30)
        order = shop.wait(journey.order_id, lambda o: o["status"] == "CANCELLED")
    journey.status, journey.reason = order["status"], order.get("reason")
    journey.steps = [h["step"] for h in order.get("history", [])]
    journey.payments = shop.payments(journey.order_id)
    journey.receipt = shop.wait_for(lambda: shop.receipt(journey.order_id), scenario.receipt)
    journey.shipment = shop.wait_for(lambda: shop.shipment(journey.order_id), scenario.shipment)

    if (journey.status, journey.reason) != scenario.expected:
        journey.problems.append(f"ended {journey.status}/{journey.reason}, expected {scenario.expected[0]}/{scenario.expected[1]}")
    charges = sum(1 for p in journey.payments if p.startswith("capture"))
    if charges > 1:
        journey.problems.append(f"{charges} captures")
    for what, seen, want in (("receipt", journey.receipt, scenario.receipt), ("shipment", journey.shipment, scenario.shipment)):
        if seen is not None and seen != want:
            journey.problems.append(f"{what} {'missing' if want else 'unexpected'}")
    return journey


def _mark(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "no")


def print_table(journeys: list[Journey]) -> None:
    rows = [("scenario", "order", "ended", "journey", "payments", "receipt", "shipment", "check")]
    for j in journeys:
        rows.append(
            (
                j.scenario.name,
                j.order_id[:8],
                f"{j.status}" + (f"/{j.reason}" if j.reason else ""),
                " > ".join(j.steps),
                ", ".join(j.payments) or "-",
                _mark(j.receipt),
                _mark(j.shipment),
                "ok" if j.ok else "FAIL: " + "; ".join(j.problems),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def run(template: Path, stack_name: str, parameters: dict[str, str], timeout_s: float) -> int:
    started = time.monotonic()
    with LocalCloud(template=template, stack_name=stack_name, parameters={**DEMO_PARAMETERS, **parameters}) as cloud:
        print(f"local cloud up in {time.monotonic() - started:.1f}s; API {cloud.api_url}")
        seed(cloud.client("dynamodb"), cloud.stack.physical_id("CatalogTable"))
        shop = DemoShop(cloud, timeout_s)
        run_id = uuid.uuid4().hex[:8]
        journeys = [run_scenario(shop, scenario, run_id) for scenario in SCENARIOS]
    print()
    print_table(journeys)
    failed = [j.scenario.name for j in journeys if not j.ok]
    print(f"\n{len(journeys) - len(failed)}/{len(journeys)} orders ended where expected in {time.monotonic() - started:.1f}s")
    return 1 if failed else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    parameters = {}
    for pair in args.parameter_overrides:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--parameter-overrides takes KEY=VALUE pairs, got {pair!r}")
        parameters[key] = value
    return run(args.template, args.stack_name, parameters, args.timeout)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="place sample orders on a fresh local cloud and print their journeys")
    parser.add_argument("--template", type=Path, default=Path("template.yaml"), help="SAM template (default template.yaml)")
    parser.add_argument("--stack-name", default="orderflow-demo", help="stack name (default orderflow-demo)")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", help="template parameters")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each order may take to settle (default 60)")
    parser.set_defaults(handler=_cmd_demo)
