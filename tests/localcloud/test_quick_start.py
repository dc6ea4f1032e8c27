"""The README's quick start, as a newcomer runs it: `orderflow up` on the project's own template, then
list the products and place an order over HTTP, with no other step (no seeding, no setup).

Two deviations from the README, for a shared machine only: `--port 0` (any free port, the ready line
names it) and a private `--state-file`, so a developer's own running `up` is never disturbed.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from support.http import post_order
from support.waits import wait_until

from test_cli_up import ROOT, Up, cli_env  # tests/localcloud is on sys.path (no __init__.py)

pytestmark = pytest.mark.integration

ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postal_code": "N1 9GU", "country": "GB"}


class QuickStartUp(Up):
    """`orderflow up` exactly as the README starts it (template.yaml, default stack name)."""

    def __init__(self, state_file: Path) -> None:
        command = [sys.executable, "-m", "localcloud.cli", "up", "--port", "0", "--state-file", str(state_file)]
        self.stderr = (state_file.parent / "stderr.log").open("w")  # a file: an unread pipe could fill and block `up`
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=cli_env(), cwd=ROOT)
        self._start_reading()


@pytest.fixture(scope="module")
def api_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    running = QuickStartUp(tmp_path_factory.mktemp("quickstart") / "state.json")
    try:
        yield running.wait_for("ready ", timeout=240).split()[1]
    finally:
        running.process.terminate()
        try:
            running.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=10)
        running.stderr.close()


def test_a_fresh_up_lists_the_sample_catalog_and_takes_an_order(api_url: str) -> None:
    http = requests.Session()
    products = http.get(f"{api_url}/products", timeout=30).json()
    assert {p["sku"] for p in products} >= {"MUG-001", "TEE-002"}, products
    body = {"customer_id": "newcomer", "items": [{"sku": "MUG-001", "quantity": 2}], "payment_token": "tok_visa", "shipping_address": ADDRESS}
    placed = post_order(http, api_url, body, f"quick-start-{uuid.uuid4()}")
    assert placed.status_code == 202, placed.text
    order_id = placed.json()["order_id"]
    order = wait_until(
        lambda: (o := http.get(f"{api_url}/orders/{order_id}", timeout=30).json())["status"] != "PENDING" and o,
        timeout_s=180, interval_s=1, message="the order to settle",
    )
    assert (order["status"], order["total_cents"]) == ("CONFIRMED", 2500), order
