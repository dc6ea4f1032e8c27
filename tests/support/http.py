"""The API client of the tests: `ordertools.http_client` (the bench's own), with a patient retry policy
for a loaded test machine (5 attempts, 2 s x attempt apart)."""

from __future__ import annotations

from typing import Any

import requests

from ordertools.http_client import place_order

TEST_RETRY: dict[str, Any] = {"attempts": 5, "backoff_s": 2.0}


def post_order(session: requests.Session, api_url: str, body: dict[str, Any], key: str) -> requests.Response:
    """POST /orders as a well-behaved client: retried with the same key on 5xx or code IN_PROGRESS."""
    return place_order(session, api_url, body, key, **TEST_RETRY).response
