"""The events/ corpus: for every function and trigger, the event files and their expected outcomes.

One function per handler below lists its cases. Each case is an event in AWS's shape and the
expected outcome beside it (`events/<Function>/<case>.expected.json`, format in docs/events.md):
what must exist first (`given`), what the function answers (an HTTP response, the batch's
failed record ids with why each fails, or the error Lambda reports), and what must hold after
(`then`). Ids are unique per case, so cases share one stack without seeing each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consumers.archive import archive_key
from consumers.envelope import read_header
from orders.events import EventEnvelope, EventType
from orders.models import RejectReason
from orders.service import order_id_for

from ordertools.eventgen import samples as s
from ordertools.eventgen import shapes
from ordertools.seed import load_products


@dataclass(frozen=True)
class Case:
    function: str  # logical id in template.yaml; also the folder
    name: str
    event: Any
    expected: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"{self.function}/{self.name}.json"


def all_cases() -> list[Case]:
    cases = [
        *api_cases(),
        *checkout_cases(),
        *relay_cases(),
        *outbox_recovery_cases(),
        *email_cases(),
        *shipping_cases(),
        *analytics_cases(),
        *search_cases(),
        *archive_cases(),
        *import_cases(),
    ]
    paths = [case.path for case in cases]
    duplicates = sorted({p for p in paths if paths.count(p) > 1})
    if duplicates:
        raise ValueError(f"two cases write the same file: {duplicates}")
    return cases


def ok(description: str, **rest: Any) -> dict[str, Any]:
    """An expected batch outcome where every record succeeds."""
    return {"description": description, **rest, "batchItemFailures": []}


# --- ApiFunction: HTTP API payload 2.0 ------------------------------------------------------------

CATALOG = load_products()
MUG, TEE = (next(p for p in CATALOG if p["sku"] == sku) for sku in ("MUG-001", "TEE-002"))


def _order_body(customer_id: str, items: Sequence[tuple[str, int]], token: str = "tok_visa") -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        "payment_token": token,
        "shipping_address": s.ADDRESS_JSON,
    }


def _request(name: str, method: str, route: str, path: str, offset_s: int, **kwargs: Any) -> dict[str, Any]:
    at = s.T0 + timedelta(seconds=offset_s)
    return shapes.http_api_request(method, route, path, at=at, request_id=shapes.fixed_uuid("api", name), **kwargs)


def _post(name: str, body: str, key: str | None, offset_s: int = 0, **headers: str) -> dict[str, Any]:
    sent = {"idempotency-key": key, **headers} if key is not None else dict(headers)
    return _request(name, "POST", "/orders", "/orders", offset_s, headers=sent, body=body)


def _json(doc: Any) -> str:
    return json.dumps(doc)


def _problem(code: str, message: str, errors: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The API's error body: a machine-readable `code` (what clients branch on), the message, the details."""
    return {"message": message, "code": code, "errors": list(errors)}


def _get_order(name: str, order_id: str) -> dict[str, Any]:
    return _request(name, "GET", "/orders/{order_id}", f"/orders/{order_id}", 60, path_parameters={"order_id": order_id})


def _cancel(name: str, order_id: str) -> dict[str, Any]:
    path = f"/orders/{order_id}/cancel"
    return _request(name, "POST", "/orders/{order_id}/cancel", path, 120, path_parameters={"order_id": order_id})


def _dispatch(name: str, order_id: str) -> dict[str, Any]:
    path = f"/shipments/{order_id}/dispatch"
    return _request(name, "POST", "/shipments/{order_id}/dispatch", path, 180, path_parameters={"order_id": order_id})


def _shipment_row(confirmed: Any, status: str = "READY_TO_SHIP") -> dict[str, Any]:
    return {"table": "ShipmentsTable", "item": s.shipment(confirmed, status)}


def api_cases() -> Iterator[Case]:
    f = "ApiFunction"
    key = "evt-api-post-order-0001"
    order_id = order_id_for(key)
    good_body = _order_body("cust-evt-api", [("MUG-001", 2), ("TEE-002", 1)])
    total = 2 * MUG["price_cents"] + TEE["price_cents"]
    first = f"{f}/post_order.json"
    yield Case(
        f,
        "post_order",
        _post("post_order", _json(good_body), key, **{"x-correlation-id": "corr-evt-api-0001"}),
        {
            "description": "A valid order: accepted as PENDING, priced from the catalog, its id derived from the Idempotency-Key.",
            "statusCode": 202,
            "body": {"order_id": order_id, "status": "PENDING"},
            "then": {
                "orders": {
                    order_id: {
                        "status": "PENDING",
                        "version": 1,
                        "total_cents": total,
                        "currency": "EUR",
                        "customer_id": "cust-evt-api",
                        "correlation_id": "corr-evt-api-0001",
                    }
                }
            },
        },
    )
    yield Case(
        f,
        "post_order_duplicate_key",
        _post("post_order_duplicate_key", _json(good_body), key, offset_s=5),
        {
            "description": "The client retries post_order.json (same key, same body): the first answer again, nothing new written.",
            "given": {"invoked": [first]},
            "statusCode": 202,
            "body": {"order_id": order_id, "status": "PENDING"},
            "then": {"orders": {order_id: {"version": 1}}, "orders_of_customer": {"cust-evt-api": 1}},
        },
    )
    changed = _order_body("cust-evt-api", [("MUG-001", 3)])
    yield Case(
        f,
        "post_order_key_reused_other_body",
        _post("post_order_key_reused_other_body", _json(changed), key, offset_s=10),
        {
            "description": "The key of post_order.json with a different body: 409, the first order unchanged.",
            "given": {"invoked": [first]},
            "statusCode": 409,
            "body": _problem("IDEMPOTENCY_KEY_REUSED", "Idempotency-Key was already used with a different request body"),
            "then": {"orders": {order_id: {"version": 1, "total_cents": total}}, "orders_of_customer": {"cust-evt-api": 1}},
        },
    )
    yield Case(
        f,
        "post_order_missing_key",
        _post("post_order_missing_key", _json(_order_body("cust-evt-api-nokey", [("MUG-001", 1)])), None),
        {
            "description": "No Idempotency-Key header: 400 with the reason, nothing written.",
            "statusCode": 400,
            "body": _problem("MISSING_IDEMPOTENCY_KEY", "the Idempotency-Key header is required (1-200 characters)"),
            "then": {"orders_of_customer": {"cust-evt-api-nokey": 0}},
        },
    )
    malformed_key = "evt-api-malformed-0001"
    yield Case(
        f,
        "post_order_malformed_json",
        _post("post_order_malformed_json", '{"customer_id": "cust-evt-api-bad", "items": [', malformed_key),
        {
            "description": "A body that is not JSON: 400, nothing written.",
            "statusCode": 400,
            "body": _problem("INVALID_JSON", "the body is not valid JSON"),
            "then": {"orders": {order_id_for(malformed_key): None}},
        },
    )
    missing_key = "evt-api-missing-fields-0001"
    yield Case(
        f,
        "post_order_missing_fields",
        _post(
            "post_order_missing_fields",
            _json({"customer_id": "cust-evt-api-bad", "items": [{"sku": "MUG-001", "quantity": 1}]}),
            missing_key,
        ),
        {
            "description": "No payment_token nor shipping_address: 422 naming both fields, nothing written.",
            "statusCode": 422,
            "body_contains": {
                "code": "INVALID_FIELDS",
                "message": "invalid fields: payment_token, shipping_address",
                "errors": [{"field": "payment_token", "type": "missing"}, {"field": "shipping_address", "type": "missing"}],
            },
            "then": {"orders": {order_id_for(missing_key): None}},
        },
    )
    unknown_key = "evt-api-unknown-sku-0001"
    yield Case(
        f,
        "post_order_unknown_sku",
        _post(
            "post_order_unknown_sku",
            _json(_order_body("cust-evt-api-bad", [("MUG-001", 1), ("NOPE-404", 1), ("GONE-410", 2)])),
            unknown_key,
        ),
        {
            "description": "Two skus the catalog does not have: 422 naming both at once, nothing written.",
            "statusCode": 422,
            "body": _problem("INVALID_CART", 
                "unknown sku: GONE-410, NOPE-404",
                [
                    {"field": "items", "sku": "GONE-410", "message": "unknown sku"},
                    {"field": "items", "sku": "NOPE-404", "message": "unknown sku"},
                ],
            ),
            "then": {"orders": {order_id_for(unknown_key): None}},
        },
    )
    quantity_key = "evt-api-bad-quantity-0001"
    yield Case(
        f,
        "post_order_bad_quantity",
        _post(
            "post_order_bad_quantity",
            _json(_order_body("cust-evt-api-bad", [("MUG-001", 0), ("TEE-002", 101)])),
            quantity_key,
        ),
        {
            "description": "Quantities 0 and 101 (allowed: 1..100): 422 naming both lines, nothing written.",
            "statusCode": 422,
            "body_contains": {
                "code": "INVALID_FIELDS",
                "message": "invalid fields: items.0.quantity, items.1.quantity",
                "errors": [
                    {"field": "items.0.quantity", "type": "greater_than_equal"},
                    {"field": "items.1.quantity", "type": "less_than_equal"},
                ],
            },
            "then": {"orders": {order_id_for(quantity_key): None}},
        },
    )
    existing = s.confirmed(s.placed(shapes.fixed_uuid("order", "api-get"), [("MUG-001", "Enamel mug", 1, 1250)], customer_id="cust-evt-api-get"))
    yield Case(
        f,
        "get_order",
        _get_order("get_order", existing.order_id),
        {
            "description": "An existing CONFIRMED order: its status, lines, total and whole journey; no payment token.",
            "given": {"orders": [s.stored(existing)]},
            "statusCode": 200,
            "body": s.api_view(existing),
        },
    )
    missing_id = shapes.fixed_uuid("order", "api-get-missing")
    yield Case(
        f,
        "get_order_missing",
        _get_order("get_order_missing", missing_id),
        {
            "description": "An order id that was never placed: 404 with the reason.",
            "statusCode": 404,
            "body": _problem("NOT_FOUND", f"order {missing_id} not found"),
        },
    )
    yield Case(
        f,
        "get_products",
        _request("get_products", "GET", "/products", "/products", 30),
        {
            "description": "The catalog (infra/ordertools/catalog.json) with prices in cents and units, and stock.",
            "given": {"catalog": CATALOG},
            "statusCode": 200,
            "body_contains": [
                {
                    "sku": p["sku"],
                    "name": p["name"],
                    "price_cents": p["price_cents"],
                    "price": p["price_cents"] / 100,
                    "currency": p["currency"],
                    "stock": p["stock"],
                }
                for p in CATALOG
            ],
        },
    )
    pending = s.placed(shapes.fixed_uuid("order", "api-cancel"), [("TEE-002", "Organic T-shirt", 1, 2400)], customer_id="cust-evt-api-cancel")
    yield Case(
        f,
        "cancel_order",
        _cancel("cancel_order", pending.order_id),
        {
            "description": "Cancel a PENDING order: 202 CANCEL_REQUESTED; the saga finishes the cancel on the event.",
            "given": {"orders": [s.stored(pending)]},
            "statusCode": 202,
            "body": {"order_id": pending.order_id, "status": "CANCEL_REQUESTED"},
            "then": {"orders": {pending.order_id: {"status": "CANCEL_REQUESTED", "version": 2}}},
        },
    )
    gone = s.shipped(s.confirmed(s.placed(shapes.fixed_uuid("order", "api-cancel-shipped"), [("CAP-004", "Baseball cap", 1, 1800)])))
    yield Case(
        f,
        "cancel_order_shipped",
        _cancel("cancel_order_shipped", gone.order_id),
        {
            "description": "Cancel an order that has shipped: 409 naming its status, the order unchanged.",
            "given": {"orders": [s.stored(gone)]},
            "statusCode": 409,
            "body": _problem("NOT_CANCELLABLE", f"order {gone.order_id} is SHIPPED and can no longer be cancelled", [{"status": "SHIPPED"}]),
            "then": {"orders": {gone.order_id: {"status": "SHIPPED", "version": gone.version}}},
        },
    )
    never = shapes.fixed_uuid("order", "api-cancel-missing")
    yield Case(
        f,
        "cancel_order_missing",
        _cancel("cancel_order_missing", never),
        {
            "description": "Cancel an order id that was never placed: 404.",
            "statusCode": 404,
            "body": _problem("NOT_FOUND", f"order {never} not found"),
        },
    )
    yield from dispatch_cases()


def dispatch_cases() -> Iterator[Case]:
    """POST /shipments/{order_id}/dispatch: the warehouse ships a CONFIRMED order whose shipment is ready."""
    f = "ApiFunction"
    lines = [("CAP-004", "Baseball cap", 1, 1800)]
    ready = s.confirmed(s.placed(shapes.fixed_uuid("order", "api-dispatch"), lines, customer_id="cust-evt-api-dispatch"))
    shipment_id = s.shipment(ready)["shipment_id"]
    yield Case(
        f,
        "dispatch_shipment",
        _dispatch("dispatch_shipment", ready.order_id),
        {
            "description": "Dispatch a CONFIRMED order whose shipment is READY_TO_SHIP: 200, the order SHIPPED (one conditional "
            "write, a SHIPPED step naming the shipment). The shipment row is the shipping consumer's: it turns DISPATCHED "
            "when OrderShipped reaches it, so here (no event sources) it is still READY_TO_SHIP.",
            "given": {"orders": [s.stored(ready)], "items": [_shipment_row(ready)]},
            "statusCode": 200,
            "body_contains": {"order_id": ready.order_id, "shipment_id": shipment_id, "order_status": "SHIPPED"},
            "then": {
                "orders": {ready.order_id: {"status": "SHIPPED", "version": ready.version + 1}},
                "items": [{"table": "ShipmentsTable", "key": {"order_id": ready.order_id}, "item": {"status": "READY_TO_SHIP"}}],
            },
        },
    )
    gone = s.shipped(s.confirmed(s.placed(shapes.fixed_uuid("order", "api-dispatch-again"), lines)))
    yield Case(
        f,
        "dispatch_shipment_again",
        _dispatch("dispatch_shipment_again", gone.order_id),
        {
            "description": "Dispatch an order already SHIPPED (a warehouse retry): 200 with the first dispatch's answer, read "
            "from the order's SHIPPED step; nothing written.",
            "given": {"orders": [s.stored(gone)], "items": [_shipment_row(gone, "DISPATCHED")]},
            "statusCode": 200,
            "body": {
                "order_id": gone.order_id,
                "shipment_id": s.shipment(gone)["shipment_id"],
                "order_status": "SHIPPED",
                "dispatched_at": s.api_view(gone)["history"][-1]["at"],
            },
            "then": {"orders": {gone.order_id: {"status": "SHIPPED", "version": gone.version}}},
        },
    )
    confirmed = s.confirmed(s.placed(shapes.fixed_uuid("order", "api-dispatch-cancelled"), lines))
    cancelled = s.cancelled(s.cancel_requested(confirmed))
    yield Case(
        f,
        "dispatch_shipment_cancelled",
        _dispatch("dispatch_shipment_cancelled", cancelled.order_id),
        {
            "description": "Dispatch a cancelled order's shipment: 409 naming both statuses; nothing written.",
            "given": {"orders": [s.stored(cancelled)], "items": [_shipment_row(confirmed, "CANCELLED")]},
            "statusCode": 409,
            "body": _problem("NOT_DISPATCHABLE", 
                f"order {cancelled.order_id} is CANCELLED, its shipment CANCELLED: "
                "only a CONFIRMED order whose shipment is READY_TO_SHIP can be dispatched",
                [{"status": "CANCELLED", "shipment_status": "CANCELLED"}],
            ),
            "then": {"orders": {cancelled.order_id: {"status": "CANCELLED", "version": cancelled.version}}},
        },
    )
    early = s.confirmed(s.placed(shapes.fixed_uuid("order", "api-dispatch-no-shipment"), lines))
    yield Case(
        f,
        "dispatch_shipment_not_created",
        _dispatch("dispatch_shipment_not_created", early.order_id),
        {
            "description": "Dispatch a CONFIRMED order whose shipment the shipping consumer has not created yet: 404; the order stays CONFIRMED.",
            "given": {"orders": [s.stored(early)]},
            "statusCode": 404,
            "body": _problem("NOT_FOUND", f"order {early.order_id} has no shipment yet"),
            "then": {"orders": {early.order_id: {"status": "CONFIRMED", "version": early.version}}},
        },
    )
    never = shapes.fixed_uuid("order", "api-dispatch-missing")
    yield Case(
        f,
        "dispatch_shipment_missing",
        _dispatch("dispatch_shipment_missing", never),
        {
            "description": "Dispatch an order id that was never placed: 404.",
            "statusCode": 404,
            "body": _problem("NOT_FOUND", f"order {never} not found"),
        },
    )


# --- SQS helpers shared by the consumers ----------------------------------------------------------


@dataclass
class Batch:
    """Builds one SQS batch for a queue, numbering messages per case so ids stay stable."""

    function: str
    case: str
    queue: str
    records: list[dict[str, Any]] = field(default_factory=list)

    def message_id(self) -> str:
        return shapes.fixed_uuid("sqs", self.function, self.case, str(len(self.records)))

    def _at(self) -> datetime:
        return s.T0 + timedelta(minutes=5, seconds=len(self.records))

    def raw(self, event: EventEnvelope | dict[str, Any], *, body: str | None = None) -> str:
        """A raw-delivered SNS message (the template's subscriptions): the envelope is the body,
        its SNS attributes are SQS message attributes."""
        message_id = self.message_id()
        self.records.append(
            shapes.sqs_record(
                body if body is not None else s.text(event),
                queue=self.queue,
                message_id=message_id,
                sent_at=self._at(),
                sender_id=shapes.SNS_SENDER_ID,
                message_attributes=s.attributes(event),
            )
        )
        return message_id

    def sns_wrapped(self, event: EventEnvelope | dict[str, Any]) -> str:
        """The same message as a subscription without RawMessageDelivery delivers it."""
        message_id = self.message_id()
        body = shapes.sns_notification(
            s.text(event),
            topic="OrderEventsTopic",
            message_id=shapes.fixed_uuid("sns", message_id),
            at=self._at(),
            message_attributes=s.attributes(event),
        )
        self.records.append(
            shapes.sqs_record(body, queue=self.queue, message_id=message_id, sent_at=self._at(), sender_id=shapes.SNS_SENDER_ID)
        )
        return message_id

    def again(self, earlier: str) -> str:
        """An at-least-once redelivery of an earlier message of this batch: same body, new message id."""
        original = next(r for r in self.records if r["messageId"] == earlier)
        attributes = {name: (a["dataType"], a["stringValue"]) for name, a in original["messageAttributes"].items()}
        message_id = self.message_id()
        self.records.append(
            shapes.sqs_record(
                original["body"],
                queue=self.queue,
                message_id=message_id,
                sent_at=self._at(),
                sender_id=original["attributes"]["SenderId"],
                message_attributes=attributes,
            )
        )
        return message_id

    def event(self) -> dict[str, Any]:
        return shapes.sqs_event(*self.records)


def _truncated(event: EventEnvelope) -> str:
    """A message cut off mid-way: not JSON."""
    body = s.text(event)
    return body[: len(body) // 2]


MALFORMED_WHY = "the body is not JSON (cut off mid-way): it fails and, after maxReceiveCount receives, waits in the DLQ"
MISSING_WHY = "occurred_at and payload.total_cents are missing: the envelope does not validate"
FUTURE_WHY = "schema_version 2 is newer than this consumer understands: refused rather than half-read"


# --- CheckoutFunction: the saga, from CheckoutQueue (raw delivery) ---------------------------------


def _checkout_order(case: str, sku: str, quantity: int = 2, token: str = "tok_visa") -> Any:
    return s.placed(shapes.fixed_uuid("order", "checkout", case), [(sku, f"Event sample {sku}", quantity, 1500)], token=token)


def _product(sku: str, stock: int) -> dict[str, Any]:
    return {"sku": sku, "name": f"Event sample {sku}", "price_cents": 1500, "currency": "EUR", "stock": stock}


def checkout_cases() -> Iterator[Case]:
    f, q = "CheckoutFunction", "CheckoutQueue"

    def good(case: str, batch: Batch) -> tuple[Any, dict[str, Any]]:
        """A PENDING order that checks out fine, placed in the batch as OrderPlaced; and its `given`."""
        sku = f"EVT-CO-{case.upper().replace('_', '-')}"[:40]
        order = _checkout_order(case, sku)
        batch.raw(s.envelope(order, EventType.ORDER_PLACED))
        return order, {"catalog": [_product(sku, 5)], "orders": [s.stored(order)]}

    def confirmed_then(order: Any, sku: str | None = None) -> dict[str, Any]:
        then: dict[str, Any] = {"orders": {order.order_id: {"status": "CONFIRMED", "version": 5}}, "payments": {order.order_id: ["captured"]}}
        if sku:
            then["stock"] = {sku: 3}
        return then

    b = Batch(f, "order_placed", q)
    order, given = good("order_placed", b)
    sku = order.items[0].sku
    yield Case(f, "order_placed", b.event(), ok(
        "OrderPlaced for a PENDING order: authorized, 2 units reserved, captured, CONFIRMED.",
        given=given, then=confirmed_then(order, sku),
    ))

    b = Batch(f, "order_placed_payment_declined", q)
    sku = "EVT-CO-DECLINED"
    declined = _checkout_order("order_placed_payment_declined", sku, token="tok_declined")
    b.raw(s.envelope(declined, EventType.ORDER_PLACED))
    yield Case(f, "order_placed_payment_declined", b.event(), ok(
        "The card is declined: the record succeeds (a business outcome, not an error); the order ends REJECTED, no stock taken.",
        given={"catalog": [_product(sku, 5)], "orders": [s.stored(declined)]},
        then={
            "orders": {declined.order_id: {"status": "REJECTED", "reason": "PAYMENT_DECLINED"}},
            "stock": {sku: 5},
            "payments": {declined.order_id: ["declined"]},
        },
    ))

    b = Batch(f, "order_placed_out_of_stock", q)
    sku = "EVT-CO-SHORT"
    short = _checkout_order("order_placed_out_of_stock", sku, quantity=3)
    b.raw(s.envelope(short, EventType.ORDER_PLACED))
    yield Case(f, "order_placed_out_of_stock", b.event(), ok(
        "3 units wanted, 2 in stock: REJECTED OUT_OF_STOCK before any payment call.",
        given={"catalog": [_product(sku, 2)], "orders": [s.stored(short)]},
        then={"orders": {short.order_id: {"status": "REJECTED", "reason": "OUT_OF_STOCK"}}, "stock": {sku: 2}, "payments": {short.order_id: []}},
    ))

    b = Batch(f, "order_placed_payment_timeout", q)
    sku = "EVT-CO-TIMEOUT"
    slow = _checkout_order("order_placed_payment_timeout", sku, token="tok_timeout")
    b.raw(s.envelope(slow, EventType.ORDER_PLACED))
    yield Case(f, "order_placed_payment_timeout", b.event(), ok(
        "The provider never answers the authorization in time (outcome unknown): the saga asks the provider what exists, "
        "voids the authorization it finds, and rejects the order PAYMENT_TIMEOUT. Takes 2 x PaymentTimeoutMs.",
        given={"catalog": [_product(sku, 5)], "orders": [s.stored(slow)]},
        then={"orders": {slow.order_id: {"status": "REJECTED", "reason": "PAYMENT_TIMEOUT"}}, "stock": {sku: 5}, "payments": {slow.order_id: ["voided"]}},
    ))

    b = Batch(f, "order_cancel_requested", q)
    sku = "EVT-CO-CANCEL"
    to_cancel = s.cancel_requested(_checkout_order("order_cancel_requested", sku))
    b.raw(s.envelope(to_cancel, EventType.ORDER_CANCEL_REQUESTED))
    yield Case(f, "order_cancel_requested", b.event(), ok(
        "OrderCancelRequested for an order the customer cancelled before checkout: nothing to undo, it ends CANCELLED.",
        given={"catalog": [_product(sku, 5)], "orders": [s.stored(to_cancel)]},
        then={"orders": {to_cancel.order_id: {"status": "CANCELLED", "reason": "CANCELLED_BY_CUSTOMER"}}, "stock": {sku: 5}},
    ))

    b = Batch(f, "placed_and_cancel_requested_in_one_batch", q)
    sku = "EVT-CO-QUICK-CANCEL"
    quick = _checkout_order("placed_and_cancel_requested_in_one_batch", sku)
    quick_cancel = s.cancel_requested(quick)
    b.raw(s.envelope(quick, EventType.ORDER_PLACED))
    b.raw(s.envelope(quick_cancel, EventType.ORDER_CANCEL_REQUESTED))
    yield Case(f, "placed_and_cancel_requested_in_one_batch", b.event(), ok(
        "The customer cancels right after placing: OrderPlaced and OrderCancelRequested arrive in one batch, the order "
        "already CANCEL_REQUESTED. The checkout finds it so and ends it CANCELLED without charging; the cancel is then a no-op.",
        given={"catalog": [_product(sku, 5)], "orders": [s.stored(quick_cancel)]},
        then={"orders": {quick.order_id: {"status": "CANCELLED", "reason": "CANCELLED_BY_CUSTOMER", "version": 3}},
              "stock": {sku: 5}, "payments": {quick.order_id: []}},
    ))

    b = Batch(f, "duplicate_in_batch", q)
    order, given = good("duplicate_in_batch", b)
    b.again(b.records[0]["messageId"])
    yield Case(f, "duplicate_in_batch", b.event(), ok(
        "The same OrderPlaced twice in one batch (at-least-once delivery): the second is answered from the idempotency record; one charge.",
        given=given, then=confirmed_then(order, order.items[0].sku),
    ))

    b = Batch(f, "unknown_event_type", q)
    order, given = good("unknown_event_type", b)
    bad = b.raw(s.envelope(order, "OrderGiftWrapped"))
    yield Case(f, "unknown_event_type", b.event(), {
        "description": "An event type no saga runs, beside a good OrderPlaced: only the unknown one fails.",
        "given": given,
        "batchItemFailures": [bad],
        "why": {bad: "no saga for OrderGiftWrapped: the record fails (never silently dropped) and ends in CheckoutDLQ"},
        "then": confirmed_then(order),
    })

    b = Batch(f, "missing_fields", q)
    order, given = good("missing_fields", b)
    incomplete = _checkout_order("missing_fields-bad", "EVT-CO-INCOMPLETE")
    bad = b.raw(s.without(s.envelope(incomplete, EventType.ORDER_PLACED), "occurred_at", "payload.total_cents"))
    yield Case(f, "missing_fields", b.event(), {
        "description": "An OrderPlaced without occurred_at beside a good one: only the incomplete one fails, its order untouched.",
        "given": {**given, "orders": [*given["orders"], s.stored(incomplete)]},
        "batchItemFailures": [bad],
        "why": {bad: "occurred_at is missing: the envelope does not validate"},
        "then": {**confirmed_then(order), "orders": {order.order_id: {"status": "CONFIRMED"}, incomplete.order_id: {"status": "PENDING", "version": 1}}},
    })

    b = Batch(f, "malformed_json", q)
    order, given = good("malformed_json", b)
    broken = s.envelope(_checkout_order("malformed_json-bad", "EVT-CO-BROKEN"), EventType.ORDER_PLACED)
    bad = b.raw(broken, body=_truncated(broken))
    yield Case(f, "malformed_json", b.event(), {
        "description": "A message cut off mid-way beside a good one: only the broken one fails.",
        "given": given,
        "batchItemFailures": [bad],
        "why": {bad: MALFORMED_WHY},
        "then": confirmed_then(order),
    })

    b = Batch(f, "future_schema_version", q)
    order, given = good("future_schema_version", b)
    future_order = _checkout_order("future_schema_version-v2", "EVT-CO-FUTURE")
    bad = b.raw(s.from_the_future(future_order, EventType.ORDER_PLACED))
    yield Case(f, "future_schema_version", b.event(), {
        "description": "An OrderPlaced with schema_version 2 beside a version 1 one: the saga refuses the newer one, its order is untouched.",
        "given": {**given, "catalog": [*given["catalog"], _product("EVT-CO-FUTURE", 5)], "orders": [*given["orders"], s.stored(future_order)]},
        "batchItemFailures": [bad],
        "why": {bad: FUTURE_WHY + "; its order stays PENDING until a newer consumer handles it"},
        "then": {**confirmed_then(order), "orders": {
            order.order_id: {"status": "CONFIRMED"}, future_order.order_id: {"status": "PENDING", "version": 1}}},
    })

    b = Batch(f, "order_placed_unknown_order", q)
    order, given = good("order_placed_unknown_order", b)
    ghost = _checkout_order("order_placed_unknown_order-ghost", "EVT-CO-GHOST")
    bad = b.raw(s.envelope(ghost, EventType.ORDER_PLACED))
    yield Case(f, "order_placed_unknown_order", b.event(), {
        "description": "OrderPlaced for an order the table does not have, beside a good one: the unknown order's record fails.",
        "given": given,
        "batchItemFailures": [bad],
        "why": {bad: "the order is not in the orders table (OrderNotFound): retried, then CheckoutDLQ"},
        "then": {**confirmed_then(order), "orders": {order.order_id: {"status": "CONFIRMED"}, ghost.order_id: None}},
    })

    b = Batch(f, "sns_wrapped", q)
    order, given = good("sns_wrapped", b)
    wrapped_order = _checkout_order("sns_wrapped-wrapped", "EVT-CO-WRAPPED")
    b.sns_wrapped(s.envelope(wrapped_order, EventType.ORDER_PLACED))
    yield Case(f, "sns_wrapped", b.event(), {
        "description": (
            "An OrderPlaced still wrapped in an SNS notification (a subscription without RawMessageDelivery, or a "
            "hand-made or replayed message) beside a raw one: unwrapped and checked out alike."
        ),
        "given": {**given, "catalog": [*given["catalog"], _product("EVT-CO-WRAPPED", 5)], "orders": [*given["orders"], s.stored(wrapped_order)]},
        "batchItemFailures": [],
        "then": {**confirmed_then(order), "orders": {order.order_id: {"status": "CONFIRMED"}, wrapped_order.order_id: {"status": "CONFIRMED"}}},
    })


# --- RelayFunction: the orders table's stream -----------------------------------------------------


@dataclass
class Stream:
    """Builds one stream batch of OrdersTable writes; `index` keeps sequence numbers apart per case."""

    index: int
    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event_name: str, new: Any = None, old: Any = None, *, new_image: dict[str, Any] | None = None) -> str:
        """A write of orders `old` -> `new` (None for an insert / a remove); `new_image` replaces `new`'s item."""
        new_item = new_image if new_image is not None else (s.stored(new) if new is not None else None)
        old_item = s.stored(old) if old is not None else None
        item = new_item or old_item
        assert item is not None, "a stream record has at least one image"
        sequence = str(4421584500000000017450439000 + self.index * 1000 + len(self.records))
        self.records.append(
            shapes.stream_record(
                event_name,
                table="OrdersTable",
                keys={"order_id": item["order_id"]},
                sequence_number=sequence,
                at=datetime.fromisoformat(item["updated_at"]),
                table_created=s.T0 - timedelta(days=30),
                new_image=new_item,
                old_image=old_item,
            )
        )
        return sequence

    def event(self) -> dict[str, Any]:
        return {"Records": self.records}


def _published(order: Any, event_type: EventType) -> dict[str, Any]:
    event = s.envelope(order, event_type)
    return {"event_id": event.event_id, "event_type": str(event_type), "payload": {"order_id": order.order_id, "status": order.status.value, "version": order.version}}


def outbox_recovery_cases() -> Iterator[Case]:
    f = "OutboxRecoveryFunction"
    stream_arn = shapes.table_stream_arn("OrdersTable", s.T0 - timedelta(days=30))
    failure = {
        "requestContext": {
            "requestId": shapes.fixed_uuid("request", "outbox", "stream_records_gone"),
            "functionArn": f"arn:aws:lambda:{shapes.REGION}:{shapes.ACCOUNT_ID}:function:{shapes.STACK}-relay",
            "condition": "RecordAgeExceeded",
            "approximateInvokeCount": 1200,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2025-03-14T10:26:53.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001741944413000-00000000",
            "startSequenceNumber": "100000000000000000001",
            "endSequenceNumber": "100000000000000000001",
            "approximateArrivalOfFirstRecord": "2025-03-14T09:26:53.000Z",
            "approximateArrivalOfLastRecord": "2025-03-14T09:26:53.000Z",
            "batchSize": 1,
            "streamArn": stream_arn,
        },
    }
    record = shapes.sqs_record(
        json.dumps(failure),
        queue="RelayDLQ",
        message_id=shapes.fixed_uuid("message", "outbox", "stream_records_gone"),
        sent_at=s.T0 + timedelta(hours=1),
        sender_id="AROAJLAMBDASERVICEEXAMPLE:awslambda_000_20250314102653000",
    )
    yield Case(f, "stream_records_gone", shapes.sqs_event(record), {
        "description": "A relay batch given up on (RelayDLQ) whose records the stream no longer holds: nothing can be relayed again.",
        "errorType": "BatchProcessingError",
        "why": "reading the batch back from the stream fails, so the batch's only record fails: the message stays in RelayDLQ "
               "(alarmed) and the scheduled sweep sets the orders it named moving again from their rows",
        "then": {"published": []},
    })


def relay_cases() -> Iterator[Case]:
    f = "RelayFunction"

    def order(case: str) -> Any:
        return s.placed(shapes.fixed_uuid("order", "relay", case), [("MUG-001", "Enamel mug", 1, 1250)])

    st = Stream(1)
    new = order("insert")
    st.add("INSERT", new)
    yield Case(f, "insert", st.event(), ok(
        "A new order (INSERT): OrderPlaced is published with the order's snapshot.",
        then={"published": [_published(new, EventType.ORDER_PLACED)]},
    ))

    st = Stream(2)
    before = s.captured(s.reserved(s.authorized(order("modify_status_change"))))
    after = s.confirmed(s.placed(before.order_id, [("MUG-001", "Enamel mug", 1, 1250)]))
    st.add("MODIFY", after, before)
    yield Case(f, "modify_status_change", st.event(), ok(
        "PENDING -> CONFIRMED (MODIFY that changes the status): OrderConfirmed is published.",
        then={"published": [_published(after, EventType.ORDER_CONFIRMED)]},
    ))

    st = Stream(3)
    before = order("modify_not_a_transition")
    after = s.authorized(before)
    st.add("MODIFY", after, before)
    yield Case(f, "modify_not_a_transition", st.event(), ok(
        "A saga step recorded while the order stays PENDING (MODIFY, same status): nothing is published.",
        then={"published": []},
    ))

    st = Stream(4)
    st.add("REMOVE", None, order("remove"))
    yield Case(f, "remove", st.event(), ok(
        "An order deleted (REMOVE): never a transition. The mapping's filter keeps REMOVE away; delivered anyway, it is ignored.",
        then={"published": []},
    ))

    st = Stream(5)
    a = order("batch_in_order-a")
    a_authorized = s.authorized(a)
    a_cancel = s.cancel_requested(a_authorized)
    b0 = s.authorized(order("batch_in_order-b"))
    b_rejecting = s.rejecting(b0, RejectReason.OUT_OF_STOCK, "MUG-001")
    b_rejected = s.rejected(b_rejecting)
    st.add("INSERT", a)
    st.add("MODIFY", a_authorized, a)
    st.add("MODIFY", a_cancel, a_authorized)
    st.add("MODIFY", b_rejecting, b0)
    st.add("MODIFY", b_rejected, b_rejecting)
    yield Case(f, "batch_in_order", st.event(), ok(
        "Five writes of two orders: the INSERT, the move to CANCEL_REQUESTED and the move to REJECTED are announced; "
        "a recorded step and the move to REJECTING (an internal state) are not.",
        then={"published": [
            _published(a, EventType.ORDER_PLACED),
            _published(a_cancel, EventType.ORDER_CANCEL_REQUESTED),
            _published(b_rejected, EventType.ORDER_REJECTED),
        ]},
    ))

    st = Stream(6)
    first = order("bad_image_stops_batch-1")
    broken = s.stored(order("bad_image_stops_batch-2"))
    del broken["total_cents"]
    third = order("bad_image_stops_batch-3")
    st.add("INSERT", first)
    bad = st.add("INSERT", new_image=broken)
    st.add("INSERT", third)
    yield Case(f, "bad_image_stops_batch", st.event(), {
        "description": "Three INSERTs, the second an item that is not an order: the first is published, the relay stops at the second.",
        "batchItemFailures": [bad],
        "why": {bad: "NewImage has no total_cents: not an order. The relay reports this record's sequence number and stops, so "
                     "Lambda retries from it (the third record with it) to keep the stream's order; after 5 retries RelayDLQ"},
        "then": {"published": [_published(first, EventType.ORDER_PLACED)]},
    })


# --- the fan-out consumers (raw delivery; SNS-wrapped bodies are unwrapped too) -------------------


def _fanout_order(function: str, case: str) -> Any:
    order_id = shapes.fixed_uuid("order", function, case)
    return s.confirmed(s.placed(order_id, [("MUG-001", "Enamel mug", 2, 1250), ("BOOK-003", "Designing Data-Intensive Applications", 1, 4490)]))


def _fanout_cases(function: str, queue: str, state_of: Any, *, archive: bool = False) -> Iterator[Case]:
    """The cases every fan-out consumer has. `state_of(event)` is the `then` proving the event was handled."""

    def order(case: str) -> Any:
        return _fanout_order(function, case)

    b = Batch(function, "order_confirmed", queue)
    event = s.envelope(order("order_confirmed"), EventType.ORDER_CONFIRMED)
    b.raw(event)
    yield Case(function, "order_confirmed", b.event(), ok("OrderConfirmed as the raw-delivery subscription sends it.", then=state_of(event)))

    b = Batch(function, "order_confirmed_sns_wrapped", queue)
    event = s.envelope(order("order_confirmed_sns_wrapped"), EventType.ORDER_CONFIRMED)
    b.sns_wrapped(event)
    yield Case(function, "order_confirmed_sns_wrapped", b.event(), ok(
        "OrderConfirmed wrapped in an SNS notification (no RawMessageDelivery, or `sam local generate-event`): unwrapped and handled alike.",
        then=state_of(event),
    ))

    b = Batch(function, "duplicate_in_batch", queue)
    event = s.envelope(order("duplicate_in_batch"), EventType.ORDER_CONFIRMED)
    b.again(b.raw(event))
    yield Case(function, "duplicate_in_batch", b.event(), ok(
        "The same OrderConfirmed twice in one batch (at-least-once delivery): both succeed, the effect happens once.",
        then=state_of(event),
    ))

    b = Batch(function, "missing_fields", queue)
    good = s.envelope(order("missing_fields"), EventType.ORDER_CONFIRMED)
    b.raw(good)
    bad = b.raw(s.without(s.envelope(order("missing_fields-bad"), EventType.ORDER_CONFIRMED), "occurred_at", "payload.total_cents"))
    yield Case(function, "missing_fields", b.event(), {
        "description": "A good OrderConfirmed and one missing occurred_at and payload.total_cents: only the incomplete one fails.",
        "batchItemFailures": [bad],
        "why": {bad: MISSING_WHY},
        "then": state_of(good),
    })

    b = Batch(function, "malformed_json", queue)
    good = s.envelope(order("malformed_json"), EventType.ORDER_CONFIRMED)
    b.raw(good)
    broken = s.envelope(order("malformed_json-bad"), EventType.ORDER_CONFIRMED)
    bad = b.raw(broken, body=_truncated(broken))
    yield Case(function, "malformed_json", b.event(), {
        "description": "A good OrderConfirmed and a message cut off mid-way: only the broken one fails.",
        "batchItemFailures": [bad],
        "why": {bad: MALFORMED_WHY},
        "then": state_of(good),
    })

    b = Batch(function, "future_schema_version", queue)
    good = s.envelope(order("future_schema_version"), EventType.ORDER_CONFIRMED)
    b.raw(good)
    future = s.from_the_future(order("future_schema_version-v2"), EventType.ORDER_CONFIRMED)
    bad = b.raw(future)
    if archive:
        yield Case(function, "future_schema_version", b.event(), ok(
            "A version 1 and a schema_version 2 OrderConfirmed: the archive reads only the header, so it keeps both, as published.",
            then=_merge(state_of(good), _archived(future)),
        ))
    else:
        yield Case(function, "future_schema_version", b.event(), {
            "description": "A version 1 and a schema_version 2 OrderConfirmed: the newer one fails, to wait in the DLQ for a consumer that knows it.",
            "batchItemFailures": [bad],
            "why": {bad: FUTURE_WHY},
            "then": state_of(good),
        })


def _merge(*thens: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for then in thens:
        for key, value in then.items():
            if isinstance(value, list):
                merged[key] = [*merged.get(key, []), *value]
            else:
                merged[key] = {**merged.get(key, {}), **value}
    return merged


def _unknown_type_case(function: str, queue: str, then_of: Any, description: str) -> Case:
    b = Batch(function, "unknown_event_type", queue)
    event = s.envelope(_fanout_order(function, "unknown_event_type"), "OrderGiftWrapped")
    b.raw(event)
    return Case(function, "unknown_event_type", b.event(), ok(description, then=then_of(event)))


def _receipt(event: EventEnvelope, headline: str) -> dict[str, Any]:
    order_id = event.payload["order_id"]
    return {"objects": [{"bucket": "ReceiptsBucket", "key": f"receipts/{order_id}/{event.event_type}.html", "contains": [headline, order_id]}]}


def email_cases() -> Iterator[Case]:
    f, q = "EmailFunction", "EmailQueue"
    yield from _fanout_cases(f, q, lambda e: _receipt(e, "Thank you, your order is confirmed"))
    yield _unknown_type_case(f, q, lambda e: {"objects": [
        {"bucket": "ReceiptsBucket", "key": f"receipts/{e.payload['order_id']}/{e.event_type}.html", "absent": True}]},
        "An event type email has no receipt for (OrderGiftWrapped): skipped, the record succeeds, nothing stored.")
    b = Batch(f, "order_cancelled", q)
    order = s.cancelled(s.cancel_requested(_fanout_order(f, "order_cancelled")))
    event = s.envelope(order, EventType.ORDER_CANCELLED)
    b.raw(event)
    then = _receipt(event, "Your order has been cancelled")
    then["objects"][0]["contains"].append("Reason: CANCELLED_BY_CUSTOMER")
    yield Case(f, "order_cancelled", b.event(), ok("OrderCancelled: the cancellation receipt, with the reason.", then=then))


def _shipment(event: EventEnvelope, status: str = "READY_TO_SHIP") -> dict[str, Any]:
    item: dict[str, Any] = {"status": status, "customer_id": event.payload["customer_id"]}
    if status == "READY_TO_SHIP":
        item["created_by_event"] = event.event_id
    return {"items": [{"table": "ShipmentsTable", "key": {"order_id": event.payload["order_id"]}, "item": item}]}


def shipping_cases() -> Iterator[Case]:
    f, q = "ShippingFunction", "ShippingQueue"
    yield from _fanout_cases(f, q, _shipment)
    yield _unknown_type_case(f, q, lambda e: {"items": [
        {"table": "ShipmentsTable", "key": {"order_id": e.payload["order_id"]}, "absent": True}]},
        "An event type shipping does not act on (OrderGiftWrapped): skipped, the record succeeds, no shipment.")
    b = Batch(f, "cancelled_before_confirmed", q)
    base = _fanout_order(f, "cancelled_before_confirmed")
    cancel = s.envelope(s.cancelled(s.cancel_requested(base)), EventType.ORDER_CANCELLED)
    b.raw(cancel)
    b.raw(s.envelope(base, EventType.ORDER_CONFIRMED))
    then = _shipment(cancel, "CANCELLED")
    then["items"][0]["item"]["cancelled_by_event"] = cancel.event_id
    yield Case(f, "cancelled_before_confirmed", b.event(), ok(
        "OrderCancelled delivered before its OrderConfirmed (SQS does not keep order): the cancel leaves a CANCELLED row, "
        "so the late confirmation creates no live shipment.",
        then=then,
    ))
    b = Batch(f, "order_shipped", q)
    confirmed = _fanout_order(f, "order_shipped")
    shipped = s.envelope(s.shipped(confirmed), EventType.ORDER_SHIPPED)
    b.again(b.raw(shipped))
    then = _shipment(shipped, "DISPATCHED")
    then["items"][0]["item"].update(created_by_event=s.shipment(confirmed)["created_by_event"], dispatched_by_event=shipped.event_id)
    yield Case(f, "order_shipped", b.event(), ok(
        "OrderShipped (the warehouse dispatched the order), twice in the batch: the READY_TO_SHIP row becomes DISPATCHED once; "
        "the rest of the row stays.",
        given={"items": [{"table": "ShipmentsTable", "item": s.shipment(confirmed)}]},
        then=then,
    ))


def _lake(event: EventEnvelope) -> dict[str, Any]:
    day = event.occurred_at.date().isoformat()
    key = f"analytics/dt={day}/event_type={event.event_type}/{event.event_id}.json"
    payload = event.payload
    return {"objects": [{"bucket": "DataLakeBucket", "key": key, "json": {
        "event_id": event.event_id, "event_type": event.event_type, "order_id": payload["order_id"],
        "status": payload["status"], "total_cents": payload["total_cents"],
        "item_count": sum(line["quantity"] for line in payload["items"]),
    }}]}


def analytics_cases() -> Iterator[Case]:
    f, q = "AnalyticsFunction", "AnalyticsQueue"
    yield from _fanout_cases(f, q, _lake)
    yield _unknown_type_case(f, q, _lake,
        "An event type analytics has never seen (OrderGiftWrapped): recorded in the lake under its own event_type partition.")


def _search_doc(event: EventEnvelope, **extra: Any) -> dict[str, Any]:
    payload = event.payload
    doc = {"status": payload["status"], "version": payload["version"], "last_event_id": event.event_id,
           "last_event_type": event.event_type, "customer_id": payload["customer_id"], **extra}
    return {"items": [{"table": "SearchTable", "key": {"order_id": payload["order_id"]}, "item": doc}]}


def search_cases() -> Iterator[Case]:
    f, q = "SearchFunction", "SearchQueue"
    yield from _fanout_cases(f, q, _search_doc)
    yield _unknown_type_case(f, q, _search_doc,
        "An event type search has never seen (OrderGiftWrapped): the document follows the order snapshot it carries.")
    b = Batch(f, "stale_after_newer", q)
    order = _fanout_order(f, "stale_after_newer")
    newer = s.envelope(order, EventType.ORDER_CONFIRMED)
    older = s.envelope(s.placed(order.order_id, [("MUG-001", "Enamel mug", 2, 1250), ("BOOK-003", "Designing Data-Intensive Applications", 1, 4490)]), EventType.ORDER_PLACED)
    b.raw(newer)
    b.raw(older)
    yield Case(f, "stale_after_newer", b.event(), ok(
        "OrderConfirmed (version 5) and then a late OrderPlaced (version 1): the older event never overwrites the newer document.",
        then=_search_doc(newer),
    ))


def _archived(event: EventEnvelope | dict[str, Any]) -> dict[str, Any]:
    """The archive object an event becomes: its envelope as published, at the archive's own key."""
    key = archive_key(read_header(s.text(event)))
    return {"objects": [{"bucket": "ArchiveBucket", "key": key, "text": s.text(event)}]}


def archive_cases() -> Iterator[Case]:
    f, q = "ArchiveFunction", "ArchiveQueue"
    yield from _fanout_cases(f, q, _archived, archive=True)
    yield _unknown_type_case(f, q, _archived,
        "An event type nobody consumes yet (OrderGiftWrapped): archived like any other, byte for byte.")


# --- ImportFunction: S3 notifications through ImportQueue -----------------------------------------

IMPORT_PRODUCT = {"sku": "EVT-IMP-1", "name": "Import sample", "price_cents": 990, "currency": "EUR", "stock": 50}


def _import_record(case: str, body: str) -> dict[str, Any]:
    return shapes.sqs_event(
        shapes.sqs_record(
            body,
            queue="ImportQueue",
            message_id=shapes.fixed_uuid("sqs", "ImportFunction", case),
            sent_at=s.T0 + timedelta(minutes=10),
            sender_id=shapes.S3_SENDER_ID,
        )
    )


def _line(customer_id: str, sku: str, quantity: int, **overrides: Any) -> str:
    doc = {**_order_body(customer_id, [(sku, quantity)]), **overrides}
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def _import_file(customer_id: str) -> str:
    lines = [
        _line(customer_id, "EVT-IMP-1", 1),
        "",
        _line(customer_id, "NOPE-404", 1),
        '{"customer_id": "' + customer_id + '", "items": [',
        _line(customer_id, "EVT-IMP-1", 0, shipping_address=None),
        _line(customer_id, "EVT-IMP-1", 3, payment_token="tok_mastercard"),
    ]
    return "\n".join(lines) + "\n"


def _import_report(bucket: str, key: str) -> dict[str, Any]:
    return {
        "bucket": bucket,
        "key": key,
        "lines": 5,
        "accepted": 2,
        "rejected": 3,
        "errors": [
            {"line": 3, "reason": "unknown sku: NOPE-404"},
            {"line": 4, "reason": "malformed JSON: Expecting value at column 46"},
            {"line": 5, "reason": "items.0.quantity: Input should be greater than or equal to 1; shipping_address: Field required"},
        ],
    }


def import_cases() -> Iterator[Case]:
    f = "ImportFunction"
    bucket = shapes.bucket_name("ImportBucket")
    at = s.T0 + timedelta(minutes=9)

    def created(case: str, key: str, data: str) -> dict[str, Any]:
        raw = data.encode()
        return _import_record(case, shapes.s3_object_notification(bucket, key, size=len(raw), etag=shapes.etag(raw), at=at))

    key = "imports/evt-2025-03-14.jsonl"
    data = _import_file("cust-evt-import")
    given = {"catalog": [IMPORT_PRODUCT], "objects": [{"bucket": "ImportBucket", "key": key, "text": data}]}
    then = {
        "objects": [{"bucket": "ImportBucket", "key": f"reports/{key}.errors.json", "json": _import_report(bucket, key)}],
        "orders_of_customer": {"cust-evt-import": 2},
    }
    yield Case(f, "object_created", created("object_created", key, data), ok(
        "A JSON Lines file uploaded under imports/: each good line becomes an order, each bad line a reason in the report.",
        given=given, then=then,
    ))
    yield Case(f, "object_created_again", created("object_created_again", key, data), ok(
        "The same notification again (S3 and SQS deliver at least once): the lines map to the orders already placed.",
        given={**given, "invoked": [f"{f}/object_created.json"]}, then=then,
    ))

    spaced = "imports/spring sale 2025.jsonl"
    spaced_data = _line("cust-evt-import-space", "EVT-IMP-1", 2) + "\n"
    yield Case(f, "object_created_key_with_spaces", created("object_created_key_with_spaces", spaced, spaced_data), ok(
        "A key with spaces arrives URL-encoded ('+'): decoded before reading the object.",
        given={"catalog": [IMPORT_PRODUCT], "objects": [{"bucket": "ImportBucket", "key": spaced, "text": spaced_data}]},
        then={
            "objects": [{"bucket": "ImportBucket", "key": f"reports/{spaced}.errors.json", "json": {"lines": 1, "accepted": 1, "rejected": 0}}],
            "orders_of_customer": {"cust-evt-import-space": 1},
        },
    ))

    bom = "imports/evt-windows-export.jsonl"
    bom_data = "\ufeff" + _line("cust-evt-import-bom", "EVT-IMP-1", 1) + "\r\n" + _line("cust-evt-import-bom", "EVT-IMP-1", 2) + "\r\n"
    yield Case(f, "object_created_bom_crlf", created("object_created_bom_crlf", bom, bom_data), ok(
        "A file saved by a Windows tool: a UTF-8 byte order mark and CRLF line endings. Both lines are orders.",
        given={"catalog": [IMPORT_PRODUCT], "objects": [{"bucket": "ImportBucket", "key": bom, "text": bom_data}]},
        then={
            "objects": [{"bucket": "ImportBucket", "key": f"reports/{bom}.errors.json", "json": {"lines": 2, "accepted": 2, "rejected": 0}}],
            "orders_of_customer": {"cust-evt-import-bom": 2},
        },
    ))

    yield Case(f, "s3_test_event", _import_record("s3_test_event", shapes.s3_test_event(bucket, at=at)), ok(
        "The s3:TestEvent S3 sends when the notification is configured: names no object, nothing to do.",
    ))

    yield Case(f, "not_an_import", created("not_an_import", "imports/README.txt", "not JSON Lines"), ok(
        "An object outside imports/*.jsonl (the notification filter keeps these away; delivered anyway): ignored, nothing read.",
        then={"objects": [{"bucket": "ImportBucket", "key": "reports/imports/README.txt.errors.json", "absent": True}]},
    ))

    missing = "imports/evt-deleted-before-import.jsonl"
    yield Case(f, "object_missing", created("object_missing", missing, "{}\n"), {
        "description": "The announced object is gone (deleted before the import ran).",
        "errorType": "BatchProcessingError",
        "why": "GetObject answers NoSuchKey, so the batch's only record fails and Lambda reports the whole batch failed: "
               "the message is retried, then ImportDLQ (maxReceiveCount 3)",
        "then": {"objects": [{"bucket": "ImportBucket", "key": f"reports/{missing}.errors.json", "absent": True}]},
    })

    yield Case(f, "malformed_notification", _import_record("malformed_notification", '{"Records": [{"eventSource": "aws:s3", '), {
        "description": "A message body that is not JSON.",
        "errorType": "BatchProcessingError",
        "why": "the body cannot be parsed, so the batch's only record fails: retried, then ImportDLQ",
    })
