"""The API client every tool and test uses to place orders the way a well-behaved client does.

A request is retried with the SAME Idempotency-Key (so a retry can never place a second order)
when the answer says retrying can help: a 5xx (an API invoke that timed out on a loaded machine)
or a 409 whose body carries the machine-readable code `IN_PROGRESS` (the first attempt with that
key is still running; docs/openapi.yaml, `Problem.code`). The wording of the message is never read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests

IN_PROGRESS = "IN_PROGRESS"


def retryable(response: requests.Response) -> bool:
    if response.status_code >= 500:
        return True
    if response.status_code != 409:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("code") == IN_PROGRESS


@dataclass(frozen=True)
class Answer:
    response: requests.Response
    attempts: int


def post_retrying(
    session: requests.Session,
    url: str,
    *,
    json: Any,
    headers: dict[str, str],
    attempts: int = 5,
    backoff_s: float = 0.5,
    deadline: float | None = None,
    timeout_s: float = 30,
) -> Answer:
    """POST, retried while `retryable` (at most `attempts` times, waiting `backoff_s` x attempt between
    tries, never after the `time.monotonic()` deadline). Connection errors are raised to the caller."""
    for attempt in range(1, attempts + 1):
        response = session.post(url, json=json, headers=headers, timeout=timeout_s)
        if not retryable(response) or attempt == attempts or (deadline is not None and time.monotonic() > deadline):
            return Answer(response, attempt)
        time.sleep(backoff_s * attempt)
    raise AssertionError("unreachable: the last attempt returns")  # pragma: no cover


def place_order(session: requests.Session, api_url: str, body: dict[str, Any], key: str, **retry: Any) -> Answer:
    """POST /orders with `key` as the Idempotency-Key, retried as `post_retrying` says."""
    return post_retrying(session, f"{api_url}/orders", json=body, headers={"Idempotency-Key": key}, **retry)
