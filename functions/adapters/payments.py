"""The payment provider over HTTP (the local sandbox speaks the same API as the real thing would).

Each call has a per-attempt timeout; only timeouts, connection errors and 5xx are retried, and
always with the same idempotency key, so a retry can return the first result but never charge
twice. When every attempt timed out the outcome is unknown: `PaymentTimeout`, and the saga asks
`authorizations(reference)` before undoing anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import urllib3

from orders.ports import Authorization, PaymentDeclined, PaymentError, PaymentTimeout

LatencyObserver = Callable[[str, float], None]


class HttpPaymentProvider:
    def __init__(
        self,
        base_url: str,
        *,
        timeout_ms: int,
        attempts: int = 2,
        backoff_s: float = 0.05,
        on_latency: LatencyObserver | None = None,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout_ms = timeout_ms
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._on_latency = on_latency
        self._http = http or urllib3.PoolManager(maxsize=4)

    def authorize(
        self, *, idempotency_key: str, reference: str, amount_cents: int, currency: str, token: str
    ) -> Authorization:
        status, body = self._call(
            "authorize",
            "POST",
            "/v1/authorizations",
            {"amount_cents": amount_cents, "currency": currency, "token": token, "reference": reference},
            idempotency_key,
        )
        if status == 402:
            raise PaymentDeclined(body.get("decline_code") or "declined")
        return self._authorization(status, body, "authorize")

    def capture(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        path = f"/v1/authorizations/{quote(authorization_id)}/capture"
        return self._authorization(*self._call("capture", "POST", path, {"amount_cents": amount_cents}, idempotency_key), "capture")

    def void(self, authorization_id: str, *, idempotency_key: str) -> Authorization:
        path = f"/v1/authorizations/{quote(authorization_id)}/void"
        return self._authorization(*self._call("void", "POST", path, {}, idempotency_key), "void")

    def refund(self, authorization_id: str, amount_cents: int, *, idempotency_key: str) -> Authorization:
        path = f"/v1/authorizations/{quote(authorization_id)}/refund"
        return self._authorization(*self._call("refund", "POST", path, {"amount_cents": amount_cents}, idempotency_key), "refund")

    def authorizations(self, reference: str) -> list[Authorization]:
        status, body = self._call("lookup", "GET", f"/v1/authorizations?reference={quote(reference)}", None, None)
        if status != 200:
            raise PaymentError(f"lookup failed with {status}: {body}")
        return [Authorization.model_validate(item) for item in body.get("data", [])]

    # --- the wire -------------------------------------------------------------------------------

    @staticmethod
    def _authorization(status: int, body: dict[str, Any], operation: str) -> Authorization:
        if status in (200, 201):
            return Authorization.model_validate(body)
        error = body.get("error", {})
        raise PaymentError(f"{operation} refused ({status} {error.get('type', '')}): {error.get('message', body)}")

    def _call(
        self, operation: str, method: str, path: str, payload: dict[str, Any] | None, key: str | None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json", "X-Client-Timeout-Ms": str(self._timeout_ms)}
        if key is not None:
            headers["Idempotency-Key"] = key
        body = json.dumps(payload).encode() if payload is not None else None
        timeout = urllib3.Timeout(total=self._timeout_ms / 1000)
        last_error = ""
        for attempt in range(self._attempts):
            if attempt:
                time.sleep(self._backoff_s * attempt)
            started = time.perf_counter()
            try:
                response = self._http.request(
                    method, self._base + path, body=body, headers=headers, timeout=timeout, retries=False
                )
            except (urllib3.exceptions.TimeoutError, urllib3.exceptions.ProtocolError) as exc:
                last_error = f"{type(exc).__name__}"
                continue
            except urllib3.exceptions.HTTPError as exc:  # connection refused and friends
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            finally:
                if self._on_latency is not None:
                    self._on_latency(operation, (time.perf_counter() - started) * 1000)
            if response.status >= 500:
                last_error = f"HTTP {response.status}"
                continue
            try:
                decoded = json.loads(response.data or b"{}")
            except ValueError as exc:
                raise PaymentError(f"{operation}: provider answered non-JSON ({response.status})") from exc
            return response.status, decoded if isinstance(decoded, dict) else {}
        raise PaymentTimeout(f"{operation}: no answer after {self._attempts} attempts of {self._timeout_ms} ms ({last_error})")
