"""Contract tests of the Stripe adapter: a CONTRACT test, not Stripe.

The official `stripe` SDK talks to a local HTTP server on 127.0.0.1 standing in for the API at
the client's api base. The server checks the requests the adapter makes against Stripe's documented
request shapes (form-encoded parameters, the Idempotency-Key header) and answers with Stripe's
documented response and error shapes; it replays the first answer for a repeated key, as Stripe does.
What Stripe itself does beyond those documents (3-D Secure, search lag, real declines) is not tested here.

The shapes, from Stripe's API reference:
- https://docs.stripe.com/api/payment_intents/create (confirm=true, capture_method=manual -> requires_capture)
- https://docs.stripe.com/api/payment_intents/capture (amount_to_capture -> succeeded, amount_received)
- https://docs.stripe.com/api/payment_intents/cancel (-> canceled)
- https://docs.stripe.com/api/payment_intents/search (query=metadata['order_id']:'...')
- https://docs.stripe.com/api/refunds/create (payment_intent, amount)
- https://docs.stripe.com/api/errors (402 card_error with code and decline_code; 409 for a key in use)
- https://docs.stripe.com/api/idempotent_requests (the same key returns the first result, Idempotent-Replayed)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from moto import mock_aws

from adapters.stripe_payments import StripePaymentProvider
from orders.ports import AuthorizationStatus, PaymentDeclined, PaymentError, PaymentTimeout

TIMEOUT_MS = 300
DECLINES = {"pm_card_chargeDeclined": ("card_declined", "generic_decline"), "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds")}


@dataclass
class Seen:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    """Stripe's documented shapes, in memory; `hang_s` makes every answer late (a timeout)."""

    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    hang_s: float = 0.0
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, method: str, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        self.seen.append(Seen(method, path, form, headers))
        if self.hang_s:
            time.sleep(self.hang_s)
        key = headers.get("Idempotency-Key")
        with self.lock:
            if method == "POST" and key in self.replies:
                status, body = self.replies[key]
                return status, body, {"Idempotent-Replayed": "true"}
            status, body = self._route(method, path, form)
            if method == "POST" and key:
                self.replies[key] = (status, body)
            return status, body, {}

    def _route(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return self._create(form)
        if method == "GET" and parts == ["v1", "payment_intents", "search"]:
            order_id = form["query"].split(":", 1)[1].strip("'")
            data = [self._expanded(i) for i in self.intents.values() if i["metadata"].get("order_id") == order_id]
            return 200, {"object": "search_result", "data": data, "has_more": False, "url": "/v1/payment_intents/search", "next_page": None}
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "payment_intents"]:
            intent = self.intents.get(parts[2])
            if intent is None:
                return 404, _error("invalid_request_error", "resource_missing", f"No such payment_intent: '{parts[2]}'")
            if parts[3] == "capture":
                if intent["status"] != "requires_capture":
                    return 400, _error("invalid_request_error", "payment_intent_unexpected_state", f"This PaymentIntent's status is {intent['status']}.")
                intent.update(status="succeeded", amount_received=int(form.get("amount_to_capture", intent["amount"])), amount_capturable=0)
            elif parts[3] == "cancel":
                intent.update(status="canceled", amount_capturable=0, cancellation_reason=None)
            return 200, dict(intent)
        if method == "POST" and parts == ["v1", "refunds"]:
            intent = self.intents[form["payment_intent"]]
            self._charge(intent)["amount_refunded"] += int(form["amount"])
            refund = {"id": f"re_{next(self.ids)}", "object": "refund", "amount": int(form["amount"]), "status": "succeeded"}
            return 200, {**refund, "payment_intent": self._expanded(intent) if "expand[0]" in form else intent["id"]}
        return 404, _error("invalid_request_error", "resource_missing", f"Unrecognized request URL ({method}: {path})")

    def _create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        assert form["confirm"] == "true" and form["capture_method"] == "manual", form
        intent = {
            "id": f"pi_{next(self.ids)}",
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "capture_method": "manual",
            "currency": form["currency"],
            "metadata": {"order_id": form["metadata[order_id]"]},
            "payment_method": form["payment_method"],
            "latest_charge": f"ch_{next(self.ids)}",
            "last_payment_error": None,
        }
        self.intents[intent["id"]] = intent
        self._charges[intent["latest_charge"]] = {"id": intent["latest_charge"], "object": "charge", "amount_refunded": 0}
        decline = DECLINES.get(form["payment_method"])
        if decline is not None:
            code, decline_code = decline
            intent.update(status="requires_payment_method", last_payment_error={"type": "card_error", "code": code, "decline_code": decline_code})
            error = _error("card_error", code, "Your card was declined.")
            error["error"].update(decline_code=decline_code, payment_intent=dict(intent))
            return 402, error
        intent.update(status="requires_capture", amount_capturable=intent["amount"])
        return 200, dict(intent)

    _charges: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _charge(self, intent: dict[str, Any]) -> dict[str, Any]:
        return self._charges[intent["latest_charge"]]

    def _expanded(self, intent: dict[str, Any]) -> dict[str, Any]:
        return {**intent, "latest_charge": dict(self._charge(intent))}


def _error(kind: str, code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message, "doc_url": f"https://docs.stripe.com/error-codes/{code}"}}


@pytest.fixture
def fake() -> Iterator[tuple[FakeStripe, str]]:
    state = FakeStripe()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet."""

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else url.query
            status, body, extra = state.handle(self.command, url.path, dict(parse_qsl(raw)), dict(self.headers.items()))
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", "Request-Id": "req_contract", **extra}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: a timeout

        do_GET = do_POST = _serve  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        state.hang_s = 0
        server.shutdown()
        server.server_close()


@pytest.fixture
def stripe_api(fake: tuple[FakeStripe, str]) -> FakeStripe:
    return fake[0]


@pytest.fixture
def provider(fake: tuple[FakeStripe, str]) -> StripePaymentProvider:
    return StripePaymentProvider(lambda: "sk_test_contract", timeout_ms=TIMEOUT_MS, attempts=2, api_base=fake[1])


def _authorize(provider: StripePaymentProvider, order_id: str, token: str = "pm_card_visa"):  # type: ignore[no-untyped-def]
    return provider.authorize(idempotency_key=f"{order_id}:authorize", reference=order_id, amount_cents=2500, currency="EUR", token=token)


def _posts(stripe_api: FakeStripe) -> list[tuple[str, str | None]]:
    return [(s.path, s.headers.get("Idempotency-Key")) for s in stripe_api.seen if s.method == "POST"]


def test_authorize_creates_and_confirms_a_manual_capture_intent(provider: StripePaymentProvider, stripe_api: FakeStripe) -> None:
    auth = _authorize(provider, "o-1")
    assert (auth.status, auth.amount_cents, auth.currency, auth.reference) == (AuthorizationStatus.AUTHORIZED, 2500, "EUR", "o-1")
    (request,) = stripe_api.seen
    assert request.form == {
        "amount": "2500", "currency": "eur", "payment_method": "pm_card_visa", "payment_method_types[0]": "card",
        "confirm": "true", "capture_method": "manual", "metadata[order_id]": "o-1",
    }
    assert request.headers["Idempotency-Key"] == "o-1:authorize"
    assert request.headers["Authorization"] == "Bearer sk_test_contract"


def test_capture_void_and_refund_map_onto_the_intent(provider: StripePaymentProvider, stripe_api: FakeStripe) -> None:
    captured_id = _authorize(provider, "o-2").id
    captured = provider.capture(captured_id, 2500, idempotency_key="o-2:capture")
    assert (captured.status, captured.captured_cents) == (AuthorizationStatus.CAPTURED, 2500)
    refunded = provider.refund(captured_id, 2500, idempotency_key="o-2:refund")
    assert (refunded.status, refunded.refunded_cents, refunded.id) == (AuthorizationStatus.REFUNDED, 2500, captured_id)

    voided_id = _authorize(provider, "o-3").id
    assert provider.void(voided_id, idempotency_key="o-3:void").status is AuthorizationStatus.VOIDED

    assert _posts(stripe_api) == [
        ("/v1/payment_intents", "o-2:authorize"),
        (f"/v1/payment_intents/{captured_id}/capture", "o-2:capture"),
        ("/v1/refunds", "o-2:refund"),
        ("/v1/payment_intents", "o-3:authorize"),
        (f"/v1/payment_intents/{voided_id}/cancel", "o-3:void"),
    ]
    assert stripe_api.seen[1].form == {"amount_to_capture": "2500"}
    assert stripe_api.seen[2].form == {"payment_intent": captured_id, "amount": "2500", "expand[0]": "payment_intent.latest_charge"}


def test_lookup_finds_the_order_s_intents_by_metadata(provider: StripePaymentProvider, stripe_api: FakeStripe) -> None:
    auth = _authorize(provider, "o-4")
    (found,) = provider.authorizations("o-4")
    assert (found.id, found.status) == (auth.id, AuthorizationStatus.AUTHORIZED)
    assert stripe_api.seen[-1].form["query"] == "metadata['order_id']:'o-4'"
    assert provider.authorizations("o-none") == []


@pytest.mark.parametrize(("token", "code"), [("pm_card_chargeDeclined", "generic_decline"), ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")])
def test_a_card_error_is_a_decline_with_its_decline_code(provider: StripePaymentProvider, stripe_api: FakeStripe, token: str, code: str) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        _authorize(provider, "o-5", token=token)
    assert declined.value.decline_code == code
    assert len(stripe_api.seen) == 1  # a decline is an answer: never retried
    (found,) = provider.authorizations("o-5")
    assert (found.status, found.decline_code) == (AuthorizationStatus.DECLINED, code)


def test_a_timeout_is_retried_with_the_same_key_then_reported(provider: StripePaymentProvider, stripe_api: FakeStripe) -> None:
    stripe_api.hang_s = 2 * TIMEOUT_MS / 1000
    started = time.monotonic()
    with pytest.raises(PaymentTimeout):
        _authorize(provider, "o-6")
    assert time.monotonic() - started < 4 * TIMEOUT_MS / 1000 + 0.5  # 2 attempts, no SDK retries of its own
    assert _posts(stripe_api) == [("/v1/payment_intents", "o-6:authorize")] * 2
    stripe_api.hang_s = 0
    (found,) = provider.authorizations("o-6")  # the saga's lookup: what the lost answer had authorized
    assert found.status is AuthorizationStatus.AUTHORIZED


def test_a_repeated_call_with_the_same_key_returns_the_first_result(provider: StripePaymentProvider, stripe_api: FakeStripe) -> None:
    first = _authorize(provider, "o-7")
    again = _authorize(provider, "o-7")
    assert again == first
    assert len(stripe_api.intents) == 1  # one charge, however often the saga asks
    assert [s.headers["Idempotency-Key"] for s in stripe_api.seen] == ["o-7:authorize", "o-7:authorize"]
    capture = provider.capture(first.id, 2500, idempotency_key="o-7:capture")
    assert provider.capture(first.id, 2500, idempotency_key="o-7:capture") == capture


def test_a_refused_operation_is_a_payment_error(provider: StripePaymentProvider) -> None:
    auth = _authorize(provider, "o-8")
    provider.void(auth.id, idempotency_key="o-8:void")
    with pytest.raises(PaymentError, match="payment_intent_unexpected_state"):
        provider.capture(auth.id, 2500, idempotency_key="o-8:capture")


def test_the_api_key_is_read_from_the_named_secret(fake: tuple[FakeStripe, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """PaymentProvider=stripe: the key is the SecretString of StripeSecretName, through powertools' cached get_secret."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("secretsmanager").create_secret(Name="orderflow/test/stripe", SecretString="sk_test_from_secret")
        provider = StripePaymentProvider.from_secret("orderflow/test/stripe", timeout_ms=TIMEOUT_MS, api_base=fake[1])
        _authorize(provider, "o-9")
    assert fake[0].seen[-1].headers["Authorization"] == "Bearer sk_test_from_secret"
