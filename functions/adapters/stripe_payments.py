"""Stripe as the `PaymentProvider` (PaymentProvider=stripe): PaymentIntents with manual capture, on the official SDK.

    authorize  POST /v1/payment_intents   amount, currency, payment_method=<the order's token, a pm_... id>,
               confirm=true, capture_method=manual, payment_method_types[]=card, metadata[order_id]
               -> requires_capture: authorized; a card error (402) -> PaymentDeclined(decline_code or code)
    capture    POST /v1/payment_intents/{id}/capture   amount_to_capture -> succeeded
    void       POST /v1/payment_intents/{id}/cancel    -> canceled (the hold is released)
    refund     POST /v1/refunds   payment_intent, amount (expanding the intent and its charge)
    lookup     GET  /v1/payment_intents/search   query=metadata['order_id']:'<order id>'

Every POST carries `Idempotency-Key: {order_id}:{operation}` (the saga's key), so Stripe returns
the first result to a retry for 24 hours and never charges twice. The SDK's own retries are off:
`Attempts` retries an unknown outcome (no answer in time, a connection error, a 5xx, a 429, or a
409 while the same key is still being processed) with the same key, and counts in the checkout's
timeout budget. Stripe's search is not read-after-write (Stripe says results can lag by up to a
minute): a lookup right after a timed-out authorize may miss it; a PaymentIntent left uncaptured is
cancelled by Stripe after 7 days, releasing the hold (docs/order-flow.md).

The secret key comes from Secrets Manager through powertools' parameters (cached for
`SECRET_MAX_AGE_S`, so a rotated key is picked up without a deploy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import stripe

from adapters.payments import DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_S, Attempts, LatencyObserver, Transient
from orders.ports import Authorization, AuthorizationStatus, PaymentDeclined, PaymentError

SECRET_MAX_AGE_S = 300
# Stripe's PaymentIntent statuses, as the saga sees them (requires_payment_method after a failed confirm).
_STATUSES = {
    "requires_capture": AuthorizationStatus.AUTHORIZED,
    "succeeded": AuthorizationStatus.CAPTURED,
    "canceled": AuthorizationStatus.VOIDED,
}


class StripePaymentProvider:
    def __init__(
        self,
        api_key: Callable[[], str],
        *,
        timeout_ms: int,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_s: float = DEFAULT_BACKOFF_S,
        on_latency: LatencyObserver | None = None,
        api_base: str | None = None,
    ) -> None:
        self._api_key = api_key
        self._timeout_ms = timeout_ms
        self._api_base = api_base
        self._attempts = Attempts(attempts, backoff_s=backoff_s, on_latency=on_latency)
        self._client: stripe.StripeClient | None = None
        self._client_key = ""

    @classmethod
    def from_secret(cls, secret_name: str, **options: Any) -> StripePaymentProvider:
        from aws_lambda_powertools.utilities import parameters

        return cls(lambda: str(parameters.get_secret(secret_name, max_age=SECRET_MAX_AGE_S)), **options)

    # --- the port -------------------------------------------------------------------------------

    def authorize(
        self, *, idempotency_key: str, reference: str, amount_cents: int, currency: str, token: str
    ) -> Authorization:
        params = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "payment_method": token,
            "payment_method_types": ["card"],
            "confirm": True,
            "capture_method": "manual",
            "metadata": {"order_id": reference},
        }
        try:
            intent = self._call("authorize", lambda c: c.v1.payment_intents.create(params, {"idempotency_key": idempotency_key}))
        except stripe.CardError as exc:
            raise PaymentDeclined(_decline_code(exc)) from exc
        authorization = _authorization(intent)
        if authorization.status is not AuthorizationStatus.AUTHORIZED:
            raise PaymentDeclined(authorization.decline_code or str(intent.get("status")))
        return authorization

    def capture(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        params = {"amount_to_capture": amount_cents}
        options = {"idempotency_key": idempotency_key}
        return _authorization(self._call("capture", lambda c: c.v1.payment_intents.capture(authorization_id, params, options)))

    def void(self, authorization_id: str, *, idempotency_key: str) -> Authorization:
        options = {"idempotency_key": idempotency_key}
        return _authorization(self._call("void", lambda c: c.v1.payment_intents.cancel(authorization_id, {}, options)))

    def refund(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        params = {"payment_intent": authorization_id, "amount": amount_cents, "expand": ["payment_intent.latest_charge"]}
        refund = self._call("refund", lambda c: c.v1.refunds.create(params, {"idempotency_key": idempotency_key}))
        return _authorization(refund["payment_intent"])

    def authorizations(self, reference: str) -> list[Authorization]:
        params = {"query": f"metadata['order_id']:'{_quoted(reference)}'", "expand": ["data.latest_charge"]}
        found = self._call("lookup", lambda c: c.v1.payment_intents.search(params))
        return [_authorization(intent) for intent in found["data"]]

    # --- the wire -------------------------------------------------------------------------------

    def _call(self, operation: str, request: Callable[[stripe.StripeClient], Any]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            try:
                return dict(request(self._stripe()).to_dict())  # plain dicts, nested objects included
            except stripe.APIConnectionError as exc:  # timeouts and connection errors
                raise Transient(f"{type(exc).__name__}: {exc.user_message or exc}") from exc
            except stripe.CardError:
                raise
            except stripe.StripeError as exc:
                status = exc.http_status or 0
                if status >= 500 or status in (409, 429):  # 409: the same key is still being processed
                    raise Transient(f"HTTP {status} {exc.code or ''}") from exc
                raise PaymentError(f"{operation} refused ({status} {exc.code or type(exc).__name__}): {exc.user_message or exc}") from exc

        return self._attempts.run(operation, attempt, timeout_ms=self._timeout_ms)

    def _stripe(self) -> stripe.StripeClient:
        key = self._api_key()
        if self._client is None or key != self._client_key:
            self._client = stripe.StripeClient(
                key,
                base_addresses={"api": self._api_base} if self._api_base else None,
                http_client=stripe.RequestsClient(timeout=self._timeout_ms / 1000),
                max_network_retries=0,
            )
            self._client_key = key
        return self._client


def _authorization(intent: dict[str, Any]) -> Authorization:
    charge = intent.get("latest_charge")
    refunded = int(charge.get("amount_refunded") or 0) if isinstance(charge, dict) else 0
    received = int(intent.get("amount_received") or 0)
    status = _STATUSES.get(str(intent.get("status")), AuthorizationStatus.DECLINED)
    if status is AuthorizationStatus.CAPTURED and received and refunded >= received:
        status = AuthorizationStatus.REFUNDED
    last_error = intent.get("last_payment_error") or {}
    return Authorization(
        id=str(intent["id"]),
        reference=str((intent.get("metadata") or {}).get("order_id", "")),
        status=status,
        amount_cents=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
        captured_cents=received,
        refunded_cents=refunded,
        decline_code=(last_error.get("decline_code") or last_error.get("code")) if status is AuthorizationStatus.DECLINED else None,
    )


def _decline_code(exc: stripe.CardError) -> str:
    error = (exc.json_body or {}).get("error") or {}
    return str(error.get("decline_code") or exc.code or "card_declined")


def _quoted(value: str) -> str:
    """Stripe's search query language: a quoted string escapes `'` and `\\`."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
