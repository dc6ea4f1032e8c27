"""The payment sandbox as a `PaymentProvider`, over either of its wires, and the attempt rules every provider shares.

The sandbox (`payment_ledger`) answers HTTP-style statuses and bodies whichever way it is reached:
- `LambdaTransport`: the in-stack `PaymentSandboxFunction` through `lambda.invoke` (PaymentProvider=sandbox);
- `HttpTransport`: the local sidecar `infra/payment_sandbox/` (its fault controls, for tests).

`Attempts` gives each call a bounded number of attempts: only an unknown outcome (a timeout, a
connection error, a 5xx, a throttle) is retried, and always with the same idempotency key, so a
retry can return the first result but never charge twice. When every attempt failed the outcome
is unknown: `PaymentTimeout`, and the saga asks `authorizations(reference)` before undoing anything.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import boto3
import urllib3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from orders.ports import Authorization, PaymentDeclined, PaymentError, PaymentProvider, PaymentTimeout

LatencyObserver = Callable[[str, float], None]
T = TypeVar("T")
DEFAULT_ATTEMPTS = 2
DEFAULT_BACKOFF_S = 0.05  # before attempt n: n x this


class Transient(Exception):
    """One attempt's outcome is unknown (no answer in time, no connection, a 5xx): try again with the same key."""


class Attempts:
    """Up to `attempts` tries of one call, a short growing pause between them, each try's latency observed."""

    def __init__(self, attempts: int, *, backoff_s: float = DEFAULT_BACKOFF_S, on_latency: LatencyObserver | None = None) -> None:
        self.attempts = attempts
        self._backoff_s = backoff_s
        self._on_latency = on_latency

    def run(self, operation: str, call: Callable[[], T], *, timeout_ms: int) -> T:
        last_error = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self._backoff_s * attempt)
            started = time.perf_counter()
            try:
                return call()
            except Transient as exc:
                last_error = str(exc)
            finally:
                if self._on_latency is not None:
                    self._on_latency(operation, (time.perf_counter() - started) * 1000)
        raise PaymentTimeout(f"{operation}: no answer after {self.attempts} attempts of {timeout_ms} ms ({last_error})")


class Transport(Protocol):
    """Sends one sandbox operation (`payment_ledger.operations`) and returns its (status, body); `Transient` when unknown."""

    timeout_ms: int

    def send(self, operation: str, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]: ...


class HttpTransport:
    """The sidecar's HTTP API (`infra/payment_sandbox/server.py`)."""

    def __init__(self, base_url: str, *, timeout_ms: int, http: urllib3.PoolManager | None = None) -> None:
        self._base = base_url.rstrip("/")
        self.timeout_ms = timeout_ms
        self._http = http or urllib3.PoolManager(maxsize=4)

    def send(self, operation: str, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", "X-Client-Timeout-Ms": str(self.timeout_ms)}
        body = {k: v for k, v in request.items() if k not in ("idempotency_key", "authorization_id")}
        if operation == "lookup":
            method, path, payload = "GET", f"/v1/authorizations?reference={quote(str(request['reference']))}", None
        else:
            headers["Idempotency-Key"] = str(request["idempotency_key"])
            path = "/v1/authorizations"
            if operation != "authorize":
                path += f"/{quote(str(request['authorization_id']))}/{operation}"
            method, payload = "POST", json.dumps(body).encode()
        try:
            response = self._http.request(
                method,
                self._base + path,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(total=self.timeout_ms / 1000),
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:  # timeouts, refused connections, broken answers
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        if response.status >= 500:
            raise Transient(f"HTTP {response.status}")
        return response.status, _json_object(response.data, operation, response.status)


class LambdaTransport:
    """The in-stack PaymentSandboxFunction, invoked synchronously; its answer is `{"status", "body"}`."""

    def __init__(self, function_name: str, *, timeout_ms: int, client: Any | None = None) -> None:
        self._function = function_name
        self.timeout_ms = timeout_ms
        seconds = timeout_ms / 1000
        # botocore's own retries would hide attempts from `Attempts` (and from the timeout budget).
        config = Config(connect_timeout=seconds, read_timeout=seconds, retries={"total_max_attempts": 1})
        self._client = client or boto3.client("lambda", config=config)

    def send(self, operation: str, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        event = {**request, "operation": operation, "client_timeout_ms": self.timeout_ms}
        try:
            response = self._client.invoke(FunctionName=self._function, Payload=json.dumps(event).encode())
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or status == 429:
                raise Transient(f"Invoke {status} {exc.response.get('Error', {}).get('Code')}") from exc
            raise PaymentError(f"{operation}: cannot invoke the payment sandbox: {exc}") from exc
        except BotoCoreError as exc:  # read/connect timeouts, connection errors
            raise Transient(f"{type(exc).__name__}: {exc}") from exc
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise Transient(f"sandbox function error: {payload[:200]!r}")
        answer = _json_object(payload, operation, response.get("StatusCode", 200))
        return int(answer.get("status", 0)), answer.get("body") or {}


def _json_object(raw: bytes, operation: str, status: int) -> dict[str, Any]:
    try:
        decoded = json.loads(raw or b"{}")
    except ValueError as exc:
        raise PaymentError(f"{operation}: provider answered non-JSON ({status})") from exc
    return decoded if isinstance(decoded, dict) else {}


class SandboxPaymentProvider:
    """`PaymentProvider` over the sandbox's operations, whichever transport carries them."""

    def __init__(self, transport: Transport, *, attempts: int = DEFAULT_ATTEMPTS, backoff_s: float = DEFAULT_BACKOFF_S, on_latency: LatencyObserver | None = None) -> None:
        self._transport = transport
        self._attempts = Attempts(attempts, backoff_s=backoff_s, on_latency=on_latency)

    def authorize(
        self, *, idempotency_key: str, reference: str, amount_cents: int, currency: str, token: str
    ) -> Authorization:
        request = {"idempotency_key": idempotency_key, "amount_cents": amount_cents, "currency": currency, "token": token, "reference": reference}
        status, body = self._call("authorize", request)
        if status == 402:
            raise PaymentDeclined(body.get("decline_code") or "declined")
        return self._authorization(status, body, "authorize")

    def capture(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        request = {"idempotency_key": idempotency_key, "authorization_id": authorization_id, "amount_cents": amount_cents}
        return self._authorization(*self._call("capture", request), "capture")

    def void(self, authorization_id: str, *, idempotency_key: str) -> Authorization:
        request = {"idempotency_key": idempotency_key, "authorization_id": authorization_id}
        return self._authorization(*self._call("void", request), "void")

    def refund(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        request = {"idempotency_key": idempotency_key, "authorization_id": authorization_id, "amount_cents": amount_cents}
        return self._authorization(*self._call("refund", request), "refund")

    def authorizations(self, reference: str) -> list[Authorization]:
        status, body = self._call("lookup", {"reference": reference})
        if status != 200:
            raise PaymentError(f"lookup failed with {status}: {body}")
        return [Authorization.model_validate(item) for item in body.get("data", [])]

    def _call(self, operation: str, request: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._attempts.run(operation, lambda: self._transport.send(operation, request), timeout_ms=self._transport.timeout_ms)

    @staticmethod
    def _authorization(status: int, body: dict[str, Any], operation: str) -> Authorization:
        if status in (200, 201):
            return Authorization.model_validate(body)
        error = body.get("error", {})
        raise PaymentError(f"{operation} refused ({status} {error.get('type', '')}): {error.get('message', body)}")


def provider_from_environment(environ: Mapping[str, str] = os.environ, on_latency: LatencyObserver | None = None) -> PaymentProvider:
    """The provider the template chose (PAYMENT_PROVIDER), configured from the function's variables.

    sandbox  PAYMENT_SANDBOX_FUNCTION, the in-stack sandbox
    stripe   STRIPE_SECRET_NAME, the API key's secret in Secrets Manager (adapters/stripe_payments.py)
    http     PAYMENT_PROVIDER_URL, the local sidecar with fault controls (tests only)
    """
    kind = environ.get("PAYMENT_PROVIDER", "")
    timeout_ms = int(environ["PAYMENT_TIMEOUT_MS"])
    attempts = int(environ.get("PAYMENT_ATTEMPTS", DEFAULT_ATTEMPTS))
    if kind == "sandbox":
        transport: Transport = LambdaTransport(environ["PAYMENT_SANDBOX_FUNCTION"], timeout_ms=timeout_ms)
    elif kind == "http":
        transport = HttpTransport(environ["PAYMENT_PROVIDER_URL"], timeout_ms=timeout_ms)
    elif kind == "stripe":
        from adapters.stripe_payments import StripePaymentProvider  # the SDK loads only where it is used

        return StripePaymentProvider.from_secret(
            environ["STRIPE_SECRET_NAME"], timeout_ms=timeout_ms, attempts=attempts, on_latency=on_latency
        )
    else:
        raise ValueError(f"PAYMENT_PROVIDER must be sandbox, stripe or http, not {kind!r}")
    return SandboxPaymentProvider(transport, attempts=attempts, on_latency=on_latency)
