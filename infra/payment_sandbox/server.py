"""The payment sandbox over HTTP, as a local sidecar: the rules of `payment_ledger` on an HTTP wire.

    POST /v1/authorizations                  {amount_cents, currency, token, reference}
    POST /v1/authorizations/{id}/capture     {amount_cents}
    POST /v1/authorizations/{id}/void
    POST /v1/authorizations/{id}/refund      {amount_cents}
    GET  /v1/authorizations?reference=R      what was authorized for R (recovering from a timeout)
    GET  /v1/ledger                          every entry and authorization, for tests and the demo

Every POST needs an `Idempotency-Key` header. `set_faults(decide)` injects provider faults for a
chaos run: `decide(operation)` returns "timeout_before_charge" (the answer hangs past the caller's
timeout and nothing happens) or "response_lost" (the operation takes effect, the answer never
arrives), or None. A hanging answer (tok_timeout, tok_slow) waits
twice the caller's timeout (header `X-Client-Timeout-Ms`, else 2 s), never more than `hang_cap_s`.
Used as a local-cloud sidecar: `start()` returns the URL passed to the `PaymentProviderUrl` parameter.
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from payment_ledger.ledger import Answer, Ledger
from payment_ledger.operations import hang_seconds, perform

_OPERATION = re.compile(r"^/v1/authorizations/(?P<id>[^/]+)/(?P<op>capture|void|refund)$")
TIMEOUT_BEFORE_CHARGE = "timeout_before_charge"
RESPONSE_LOST = "response_lost"
FaultDecider = Callable[[str], str | None]


class PaymentSandbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, hang_cap_s: float = 5.0) -> None:
        self.ledger_store = Ledger()
        self._host = host
        self._port = port
        self._hang_cap_s = hang_cap_s
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        self._faults: FaultDecider | None = None

    # --- lifecycle (the local cloud's sidecar contract) -----------------------------------------

    def start(self) -> str:
        sandbox = self

        class Handler(_Handler):
            owner = sandbox

        self._stopping.clear()
        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="payment-sandbox", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("payment sandbox is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._stopping.set()
        self._open.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> PaymentSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- for tests and the demo ---------------------------------------------------------------

    def ledger(self) -> list[dict[str, Any]]:
        """Every operation that changed something, in order."""
        return self.ledger_store.entries()

    def authorizations(self) -> list[dict[str, Any]]:
        return self.ledger_store.authorizations()

    def hold_authorizations(self) -> None:
        """Make new authorize requests wait (bounded by the hang cap) until `release_authorizations()`:
        lets a test change the world between "payment asked" and "payment answered"."""
        self._open.clear()

    def release_authorizations(self) -> None:
        self._open.set()

    def set_faults(self, decide: FaultDecider | None) -> None:
        """Provider faults per POST operation ("authorize", "capture", "void", "refund"); None: no faults."""
        self._faults = decide

    def _fault(self, operation: str) -> str | None:
        decide = self._faults
        return decide(operation) if decide is not None else None

    def waiting(self) -> int:
        """Authorize requests currently held."""
        with self._waiting_lock:
            return self._waiting

    # --- used by the request handler ----------------------------------------------------------

    def _hold_if_closed(self) -> None:
        if self._open.is_set():
            return
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._open.wait(self._hang_cap_s)
        finally:
            with self._waiting_lock:
                self._waiting -= 1

    def _hang(self, client_timeout_ms: str | None) -> None:
        self._stopping.wait(hang_seconds(client_timeout_ms, self._hang_cap_s))


def _operation(path: str) -> str:
    match = _OPERATION.match(path)
    return match["op"] if match else ("authorize" if path == "/v1/authorizations" else "other")


class _Handler(BaseHTTPRequestHandler):
    owner: PaymentSandbox
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Quiet: the ledger is the log."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        url = urlsplit(self.path)
        ledger = self.owner.ledger_store
        if url.path == "/v1/ledger":
            self._send(Answer(200, {"entries": ledger.entries(), "authorizations": ledger.authorizations()}))
        elif url.path == "/v1/authorizations":
            self._send(perform(ledger, "lookup", {"reference": parse_qs(url.query).get("reference", [""])[0]}))
        else:
            self._send(Answer(404, {"error": {"type": "not_found", "message": url.path}}))

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
        path = urlsplit(self.path).path
        body = self._json_body()
        match = _OPERATION.match(path)
        key = self.headers.get("Idempotency-Key")
        fault = None
        if body is None:
            answer = Answer(400, {"error": {"type": "invalid_request", "message": "body must be a JSON object"}})
        elif not key:
            answer = Answer(400, {"error": {"type": "invalid_request", "message": "Idempotency-Key header is required"}})
        elif path != "/v1/authorizations" and match is None:
            answer = Answer(404, {"error": {"type": "not_found", "message": path}})
        elif (fault := self.owner._fault(_operation(path))) == TIMEOUT_BEFORE_CHARGE:
            self._lose_answer()
            return
        else:
            operation = match["op"] if match else "authorize"
            if operation == "authorize":
                self.owner._hold_if_closed()
            request = {**body, "idempotency_key": key, "authorization_id": match and match["id"]}
            answer = perform(self.owner.ledger_store, operation, request)
        if fault == RESPONSE_LOST:
            self._lose_answer()
            return
        if answer.hang:
            self.owner._hang(self.headers.get("X-Client-Timeout-Ms"))
        self._send(answer)

    def _lose_answer(self) -> None:
        """Hang past the caller's timeout, then drop the connection without a word."""
        self.owner._hang(self.headers.get("X-Client-Timeout-Ms"))
        self.close_connection = True

    def _json_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _send(self, answer: Answer) -> None:
        payload = json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status, HTTPStatus(answer.status).phrase)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a timeout): that is the point of a hanging answer
