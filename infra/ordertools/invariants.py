"""The invariants a quiet stack must satisfy, as plain rules over a snapshot of its whole state.

At-least-once delivery, crashes and timeouts must never lose an order, charge twice, oversell or
ship twice. Each rule below reads a `Snapshot` (no AWS: `ordertools.state_snapshot` builds it
through boto3) and names every violation with the order (or sku, or message) it is about, so a
chaos run or a tampered test stack reports *which* order broke *which* promise.

An order is "ever confirmed" when its history holds a CONFIRMED step: the outbox published
`OrderConfirmed` for it, so it must have a receipt, a shipment and one analytics record of it,
whatever happened after (shipped, or cancelled and refunded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

RESTING = frozenset({"CONFIRMED", "REJECTED", "CANCELLED", "SHIPPED"})
CHARGED = frozenset({"CONFIRMED", "SHIPPED"})
UNCHARGED = frozenset({"REJECTED", "CANCELLED"})
# Shipment row status each resting order must have; None: no row at all.
SHIPMENT_FOR = {"CONFIRMED": "READY_TO_SHIP", "SHIPPED": "DISPATCHED", "CANCELLED": "CANCELLED", "REJECTED": None}
# Receipts the email consumer writes, by the event each stands for.
RECEIPT_EVENTS = ("OrderConfirmed", "OrderCancelled", "OrderShipped")


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue, and what it is about (empty `order_ids`: unknown)."""

    queue: str
    message_id: str
    reason: str
    order_ids: tuple[str, ...] = ()
    subject: str | None = None  # what else it names when not an order (an import file)


@dataclass(frozen=True)
class LakeRecord:
    order_id: str
    event_type: str
    event_id: str


@dataclass(frozen=True)
class Snapshot:
    """Everything the rules read. Orders, shipments and search documents are plain rows by order id."""

    orders: Mapping[str, Mapping[str, Any]]
    catalog: Mapping[str, int]  # sku -> stock now
    reservations: Mapping[str, Mapping[str, int]]  # order id -> {sku: quantity}
    authorizations: Sequence[Mapping[str, Any]]  # the payment provider's, each with its `reference` (order id)
    receipts: Sequence[str]  # object keys receipts/{order_id}/{event_type}.html
    lake: Sequence[LakeRecord]
    shipments: Mapping[str, Mapping[str, Any]]
    search: Mapping[str, Mapping[str, Any]]
    dead_letters: Sequence[DeadLetter] = ()
    initial_stock: Mapping[str, int] | None = None  # sku -> stock before the run; None: conservation unchecked


@dataclass(frozen=True)
class Violation:
    rule: str
    subject: str  # the order id (or sku, or DLQ message)
    detail: str


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    orders_by_status: dict[str, int] = field(default_factory=dict)
    dead_lettered: list[DeadLetter] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": [asdict(v) for v in self.violations],
            "violations_by_rule": dict(Counter(v.rule for v in self.violations)),
            "orders_by_status": self.orders_by_status,
            "dead_letters": [asdict(d) for d in self.dead_lettered],
            "rules": self.rules,
        }


Rule = Callable[[Snapshot], Iterable[Violation]]


def ever_confirmed(order: Mapping[str, Any]) -> bool:
    return any(step.get("status") == "CONFIRMED" for step in order.get("history") or ())


def _quantities(order: Mapping[str, Any]) -> dict[str, int]:
    return {line["sku"]: int(line["quantity"]) for line in order.get("items") or ()}


def _dead_lettered_orders(snapshot: Snapshot) -> dict[str, DeadLetter]:
    return {order_id: d for d in snapshot.dead_letters for order_id in d.order_ids}


# --- the rules ----------------------------------------------------------------------------------


def terminal(snapshot: Snapshot) -> Iterable[Violation]:
    """Every accepted order rests (CONFIRMED, REJECTED, CANCELLED, SHIPPED), or waits in a DLQ that names it."""
    parked = _dead_lettered_orders(snapshot)
    for order_id, order in snapshot.orders.items():
        if order["status"] not in RESTING and order_id not in parked:
            yield Violation("terminal", order_id, f"left {order['status']} (version {order.get('version')}) and in no DLQ")


def charged_once(snapshot: Snapshot) -> Iterable[Violation]:
    """CONFIRMED/SHIPPED: captured exactly once, for the total, nothing refunded; REJECTED/CANCELLED: no net
    charge; nobody's authorization left open; no payment for an order we do not have."""
    by_order: dict[str, list[Mapping[str, Any]]] = {}
    for auth in snapshot.authorizations:
        by_order.setdefault(str(auth.get("reference")), []).append(auth)
    for reference in sorted(set(by_order) - set(snapshot.orders)):
        yield Violation("charged_once", reference, f"{len(by_order[reference])} authorization(s) for an order that does not exist")
    for order_id, order in snapshot.orders.items():
        auths = by_order.get(order_id, [])
        net = sum(int(a.get("captured_cents") or 0) - int(a.get("refunded_cents") or 0) for a in auths)
        captures = [a for a in auths if int(a.get("captured_cents") or 0) > 0]
        open_auths = [a["id"] for a in auths if a.get("status") == "authorized"]
        status = order["status"]
        if open_auths and status in RESTING:
            yield Violation("charged_once", order_id, f"{status} with authorization(s) left open: {', '.join(open_auths)}")
        if status in CHARGED and (len(captures) != 1 or net != int(order["total_cents"])):
            yield Violation(
                "charged_once", order_id, f"{status}: {len(captures)} capture(s), net charge {net} cents, total {order['total_cents']}"
            )
        if status in UNCHARGED and net != 0:
            yield Violation("charged_once", order_id, f"{status} but charged {net} cents net")


def stock_conserved(snapshot: Snapshot) -> Iterable[Violation]:
    """Per sku: initial − reserved = current (a release gives back what the deleted row held), never negative,
    never more reserved than there was; each reservation row belongs to a charged order and matches its lines."""
    reserved: Counter[str] = Counter()
    for order_id, lines in snapshot.reservations.items():
        reserved.update(lines)
        order = snapshot.orders.get(order_id)
        if order is None:
            yield Violation("stock_conserved", order_id, f"reservation {dict(lines)} for an order that does not exist")
        elif order["status"] in UNCHARGED:
            yield Violation("stock_conserved", order_id, f"{order['status']} but still holds stock {dict(lines)}")
        elif dict(lines) != _quantities(order):
            yield Violation("stock_conserved", order_id, f"reserved {dict(lines)}, ordered {_quantities(order)}")
    for order_id, order in snapshot.orders.items():
        if order["status"] in CHARGED and order_id not in snapshot.reservations:
            yield Violation("stock_conserved", order_id, f"{order['status']} without a stock reservation")
    for sku, stock in sorted(snapshot.catalog.items()):
        if stock < 0:
            yield Violation("stock_conserved", sku, f"stock is {stock}")
    if snapshot.initial_stock is None:
        return
    for sku in sorted(set(snapshot.initial_stock) | set(reserved)):
        initial = snapshot.initial_stock.get(sku, 0)
        current = snapshot.catalog.get(sku, 0)
        if reserved[sku] > initial:
            yield Violation("stock_conserved", sku, f"oversold: {reserved[sku]} units reserved of {initial}")
        if initial - reserved[sku] != current:
            yield Violation("stock_conserved", sku, f"initial {initial} − reserved {reserved[sku]} ≠ current {current}")


def one_receipt(snapshot: Snapshot) -> Iterable[Violation]:
    """A receipt for each event the customer was told of, and none for what did not happen."""
    present = set(snapshot.receipts)
    for order_id, order in snapshot.orders.items():
        wanted = {
            "OrderConfirmed": ever_confirmed(order),
            "OrderCancelled": order["status"] == "CANCELLED",
            "OrderShipped": order["status"] == "SHIPPED",
        }
        for event_type in RECEIPT_EVENTS:
            key = f"receipts/{order_id}/{event_type}.html"
            if wanted[event_type] and key not in present:
                yield Violation("one_receipt", order_id, f"{order['status']} but no {event_type} receipt")
            elif not wanted[event_type] and key in present:
                yield Violation("one_receipt", order_id, f"{order['status']} yet has an {event_type} receipt")
    for key in sorted(present):
        order_id = key.split("/")[1] if key.count("/") >= 2 else key
        if order_id not in snapshot.orders:
            yield Violation("one_receipt", order_id, f"receipt {key} for an order that does not exist")


def one_shipment(snapshot: Snapshot) -> Iterable[Violation]:
    """A live shipment per confirmed order, dispatched per shipped one, cancelled per cancelled one; none for rejected."""
    for order_id, order in snapshot.orders.items():
        if order["status"] not in RESTING:
            continue
        row = snapshot.shipments.get(order_id)
        wanted = SHIPMENT_FOR[order["status"]]
        if order["status"] == "CANCELLED" and not ever_confirmed(order) and row is None:
            continue  # cancelled before confirming: the shipping consumer's tombstone is optional
        have = row.get("status") if row else None
        if have != wanted:
            yield Violation("one_shipment", order_id, f"{order['status']} with shipment {have or 'absent'}, expected {wanted or 'none'}")
    for order_id in sorted(set(snapshot.shipments) - set(snapshot.orders)):
        yield Violation("one_shipment", order_id, "shipment for an order that does not exist")


def one_analytics_record(snapshot: Snapshot) -> Iterable[Violation]:
    """Exactly one `OrderConfirmed` record in the lake per ever-confirmed order (two means two event ids), none otherwise."""
    confirmed = Counter(r.order_id for r in snapshot.lake if r.event_type == "OrderConfirmed")
    for order_id, order in snapshot.orders.items():
        wanted = 1 if ever_confirmed(order) else 0
        if confirmed[order_id] != wanted:
            yield Violation("one_analytics_record", order_id, f"{order['status']} with {confirmed[order_id]} OrderConfirmed record(s), expected {wanted}")
    for order_id in sorted({r.order_id for r in snapshot.lake} - set(snapshot.orders)):
        yield Violation("one_analytics_record", order_id, "analytics record for an order that does not exist")


def one_search_document(snapshot: Snapshot) -> Iterable[Violation]:
    """One search document per order, converged on the order's status and version."""
    for order_id, order in snapshot.orders.items():
        if order["status"] not in RESTING:
            continue
        document = snapshot.search.get(order_id)
        if document is None:
            yield Violation("one_search_document", order_id, f"{order['status']} but no search document")
        elif document.get("status") != order["status"] or int(document.get("version", -1)) != int(order["version"]):
            yield Violation(
                "one_search_document",
                order_id,
                f"document says {document.get('status')} v{document.get('version')}, order is {order['status']} v{order['version']}",
            )
    for order_id in sorted(set(snapshot.search) - set(snapshot.orders)):
        yield Violation("one_search_document", order_id, "search document for an order that does not exist")


def dead_letters_accounted(snapshot: Snapshot) -> Iterable[Violation]:
    """Every DLQ message names what it is about (an existing order or an import file)."""
    for letter in snapshot.dead_letters:
        unknown = [o for o in letter.order_ids if o not in snapshot.orders]
        if not letter.order_ids and letter.subject is None:
            yield Violation("dead_letters_accounted", f"{letter.queue}/{letter.message_id}", f"names no order: {letter.reason}")
        elif unknown:
            yield Violation("dead_letters_accounted", f"{letter.queue}/{letter.message_id}", f"names unknown order(s) {unknown}")


RULES: tuple[Rule, ...] = (
    terminal,
    charged_once,
    stock_conserved,
    one_receipt,
    one_shipment,
    one_analytics_record,
    one_search_document,
    dead_letters_accounted,
)


def check(snapshot: Snapshot, rules: Sequence[Rule] = RULES) -> Report:
    """Apply every rule; the report lists violations in rule order, then by subject."""
    report = Report(
        orders_by_status=dict(sorted(Counter(o["status"] for o in snapshot.orders.values()).items())),
        dead_lettered=list(snapshot.dead_letters),
        rules=[rule.__name__ for rule in rules],
    )
    for rule in rules:
        report.violations.extend(sorted(rule(snapshot), key=lambda v: v.subject))
    return report
