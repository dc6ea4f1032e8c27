"""The invariant rules over hand-made snapshots: a healthy stack passes, and each rule fires on its own breakage."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ordertools.invariants import DeadLetter, LakeRecord, Snapshot, check


def order(order_id: str, status: str, *, total: int = 1000, sku: str = "MUG", qty: int = 1, confirmed: bool | None = None) -> dict[str, Any]:
    steps = [{"step": "placed", "status": "PENDING"}]
    if confirmed if confirmed is not None else status in ("CONFIRMED", "SHIPPED"):
        steps.append({"step": "committed", "status": "CONFIRMED"})
    steps.append({"step": "last", "status": status})
    return {"order_id": order_id, "status": status, "version": len(steps), "total_cents": total,
            "items": [{"sku": sku, "quantity": qty}], "history": steps}


def auth(reference: str, status: str, amount: int = 1000, captured: int = 0, refunded: int = 0) -> dict[str, Any]:
    return {"id": f"auth_{reference}", "reference": reference, "status": status, "amount_cents": amount,
            "captured_cents": captured, "refunded_cents": refunded}


def healthy() -> Snapshot:
    """Four orders, one of each ending: confirmed, shipped, rejected, cancelled after confirming."""
    orders = {
        "o-conf": order("o-conf", "CONFIRMED"),
        "o-ship": order("o-ship", "SHIPPED"),
        "o-rej": order("o-rej", "REJECTED"),
        "o-canc": order("o-canc", "CANCELLED", confirmed=True),
    }
    return Snapshot(
        orders=orders,
        catalog={"MUG": 8},
        reservations={"o-conf": {"MUG": 1}, "o-ship": {"MUG": 1}},
        authorizations=[
            auth("o-conf", "captured", captured=1000),
            auth("o-ship", "captured", captured=1000),
            auth("o-rej", "voided"),
            auth("o-canc", "refunded", captured=1000, refunded=1000),
        ],
        receipts=[
            "receipts/o-conf/OrderConfirmed.html",
            "receipts/o-ship/OrderConfirmed.html",
            "receipts/o-ship/OrderShipped.html",
            "receipts/o-canc/OrderConfirmed.html",
            "receipts/o-canc/OrderCancelled.html",
        ],
        lake=[LakeRecord(o, "OrderConfirmed", f"ev-{o}") for o in ("o-conf", "o-ship", "o-canc")]
        + [LakeRecord(o, "OrderPlaced", f"placed-{o}") for o in orders],
        shipments={
            "o-conf": {"status": "READY_TO_SHIP"},
            "o-ship": {"status": "DISPATCHED"},
            "o-canc": {"status": "CANCELLED"},
        },
        search={o: {"status": row["status"], "version": row["version"]} for o, row in orders.items()},
        initial_stock={"MUG": 10},
    )


def test_a_healthy_stack_has_no_violation() -> None:
    report = check(healthy())
    assert report.ok, report.violations
    assert report.orders_by_status == {"CANCELLED": 1, "CONFIRMED": 1, "REJECTED": 1, "SHIPPED": 1}


def _with(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return dataclasses.replace(snapshot, **changes)


def _fired(snapshot: Snapshot) -> set[tuple[str, str]]:
    return {(v.rule, v.subject) for v in check(snapshot).violations}


S = healthy()

CASES = {
    "pending order": (_with(S, orders={**S.orders, "o-new": order("o-new", "PENDING")},
                            search={**S.search, "o-new": {"status": "PENDING", "version": 2}}), ("terminal", "o-new")),
    "captured twice": (_with(S, authorizations=[*S.authorizations, {**auth("o-conf", "captured", captured=1000), "id": "auth_2"}]),
                       ("charged_once", "o-conf")),
    "captured less than the total": (_with(S, authorizations=[auth("o-conf", "captured", captured=900), *S.authorizations[1:]]),
                                     ("charged_once", "o-conf")),
    "rejected but charged": (_with(S, authorizations=[*S.authorizations[:2], auth("o-rej", "captured", captured=1000), S.authorizations[3]]),
                             ("charged_once", "o-rej")),
    "authorization left open": (_with(S, authorizations=[*S.authorizations[:2], auth("o-rej", "authorized"), S.authorizations[3]]),
                                ("charged_once", "o-rej")),
    "charge for an unknown order": (_with(S, authorizations=[*S.authorizations, auth("ghost", "captured", captured=5)]),
                                    ("charged_once", "ghost")),
    "stock not conserved": (_with(S, catalog={"MUG": 9}), ("stock_conserved", "MUG")),
    "stock negative": (_with(S, catalog={"MUG": -1}), ("stock_conserved", "MUG")),
    "oversold": (_with(S, initial_stock={"MUG": 1}, catalog={"MUG": -1}), ("stock_conserved", "MUG")),
    "rejected order still holds stock": (_with(S, reservations={**S.reservations, "o-rej": {"MUG": 1}}, catalog={"MUG": 7}),
                                         ("stock_conserved", "o-rej")),
    "confirmed without reservation": (_with(S, reservations={"o-ship": {"MUG": 1}}, catalog={"MUG": 9}),
                                      ("stock_conserved", "o-conf")),
    "missing receipt": (_with(S, receipts=S.receipts[1:]), ("one_receipt", "o-conf")),
    "receipt for a rejected order": (_with(S, receipts=[*S.receipts, "receipts/o-rej/OrderConfirmed.html"]), ("one_receipt", "o-rej")),
    "no shipment": (_with(S, shipments={k: v for k, v in S.shipments.items() if k != "o-conf"}), ("one_shipment", "o-conf")),
    "cancelled order's shipment still live": (_with(S, shipments={**S.shipments, "o-canc": {"status": "READY_TO_SHIP"}}),
                                              ("one_shipment", "o-canc")),
    "shipment for a rejected order": (_with(S, shipments={**S.shipments, "o-rej": {"status": "READY_TO_SHIP"}}), ("one_shipment", "o-rej")),
    "two analytics records": (_with(S, lake=[*S.lake, LakeRecord("o-conf", "OrderConfirmed", "ev-other")]),
                              ("one_analytics_record", "o-conf")),
    "no analytics record": (_with(S, lake=[r for r in S.lake if r.order_id != "o-ship"]), ("one_analytics_record", "o-ship")),
    "stale search document": (_with(S, search={**S.search, "o-conf": {"status": "PENDING", "version": 1}}),
                              ("one_search_document", "o-conf")),
    "missing search document": (_with(S, search={k: v for k, v in S.search.items() if k != "o-rej"}), ("one_search_document", "o-rej")),
    "dead letter naming nothing": (_with(S, dead_letters=[DeadLetter("EmailDLQ", "m-1", "not JSON")]),
                                   ("dead_letters_accounted", "EmailDLQ/m-1")),
}


@pytest.mark.parametrize("snapshot, expected", list(CASES.values()), ids=list(CASES))
def test_each_rule_fires_on_its_breakage(snapshot: Snapshot, expected: tuple[str, str]) -> None:
    assert expected in _fired(snapshot)


def test_a_stuck_order_in_a_dlq_is_accounted_for_not_a_violation() -> None:
    stuck = order("o-new", "PENDING")
    letter = DeadLetter("CheckoutDLQ", "m-1", "not deleted after 5 receives", ("o-new",))
    snapshot = _with(S, orders={**S.orders, "o-new": stuck}, dead_letters=[letter])
    report = check(snapshot)
    assert report.ok, report.violations
    assert list(report.to_json()["dead_letters"][0]["order_ids"]) == ["o-new"]


def test_without_initial_stock_conservation_is_not_judged() -> None:
    assert check(_with(S, catalog={"MUG": 3}, initial_stock=None)).ok
