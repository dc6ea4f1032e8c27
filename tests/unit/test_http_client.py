"""The shared API client retries on the body's machine-readable code, never on the message's wording."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from ordertools.http_client import place_order


class Scripted(BaseHTTPRequestHandler):
    """Answers POSTs from a script of (status, body), and records each Idempotency-Key it saw."""

    script: list[tuple[int, dict]] = []
    keys: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).keys.append(self.headers["Idempotency-Key"])
        status, body = type(self).script.pop(0)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Scripted.keys = []
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_an_in_progress_code_and_a_5xx_are_retried_with_the_same_key(api: str) -> None:
    Scripted.script = [(409, {"message": "whatever the words", "code": "IN_PROGRESS"}), (503, {}), (202, {"order_id": "o-1"})]
    answer = place_order(requests.Session(), api, {}, "key-1", backoff_s=0)
    assert (answer.response.status_code, answer.attempts) == (202, 3)
    assert Scripted.keys == ["key-1"] * 3


def test_a_409_with_another_code_is_final_whatever_its_message_says(api: str) -> None:
    Scripted.script = [(409, {"message": "a request with this key is still being processed", "code": "IDEMPOTENCY_KEY_REUSED"})]
    answer = place_order(requests.Session(), api, {}, "key-2", backoff_s=0)
    assert (answer.response.status_code, answer.attempts) == (409, 1)


def test_retries_are_bounded(api: str) -> None:
    Scripted.script = [(500, {})] * 3
    answer = place_order(requests.Session(), api, {}, "key-3", attempts=3, backoff_s=0)
    assert (answer.response.status_code, answer.attempts) == (500, 3)
