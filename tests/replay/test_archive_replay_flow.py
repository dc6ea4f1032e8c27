"""Replaying the archive of a real run of 500 orders (template.yaml on the local cloud, payment
sandbox included): twice into the same stack changes nothing at all; into a fresh stack it
rebuilds the search projection and the analytics lake identically. This is issue 5's acceptance
run, so its size is the issue's, not a sample."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from localcloud.cloud import LocalCloud
from ordertools.archive import ArchiveQuery
from ordertools.replay import Replayer, ReplayOptions, items_from_archive
from ordertools.seed import seed
from ordertools.targets import from_deployed_stack

from support.http import post_order
from support.waits import wait_until

from .stack_state import diff, snapshot, wait_quiet

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]  # the 500-order run outlasts the default per-test limit

ROOT = Path(__file__).resolve().parents[2]
ADDRESS = {"name": "Grace Hopper", "line1": "1 Navy Yard", "city": "Arlington", "postal_code": "22202", "country": "US"}
SETTLED = {"CONFIRMED", "REJECTED", "CANCELLED"}
ORDERS = 500
CLIENTS = 8
SETTLE_S = 900  # 500 sagas through a 5-wide checkout on 2 cores: minutes, not seconds


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template=ROOT / "template.yaml", parameters={"PaymentTimeoutMs": "1000"}) as running:
        yield running


@pytest.fixture(scope="module")
def run(cloud):
    """A run with every kind of outcome: confirmed, declined, out of stock, cancelled after confirmation."""
    http = requests.Session()
    plenty, scarce = f"RP-{uuid.uuid4().hex[:6].upper()}", f"RP-{uuid.uuid4().hex[:6].upper()}"
    seed(cloud.client("dynamodb"), cloud.stack.physical_id("CatalogTable"), [
        {"sku": plenty, "name": "Replay widget", "price_cents": 1250, "stock": 1000},
        {"sku": scarce, "name": "Replay rarity", "price_cents": 9900, "stock": 2},
    ])

    def place(n: int) -> str:
        sku, token = (scarce if n % 6 == 5 else plenty), ("tok_declined" if n % 5 == 4 else "tok_visa")
        body = {"customer_id": f"cust-{uuid.uuid4().hex[:4]}", "items": [{"sku": sku, "quantity": 1}],
                "payment_token": token, "shipping_address": ADDRESS}
        response = post_order(http, cloud.api_url, body, str(uuid.uuid4()))
        assert response.status_code == 202, response.text
        return response.json()["order_id"]

    def status(order_id: str) -> str:
        return http.get(f"{cloud.api_url}/orders/{order_id}", timeout=30).json()["status"]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        orders = list(pool.map(place, range(ORDERS)))
    wait_until(lambda: all(status(o) in SETTLED for o in orders), timeout_s=SETTLE_S, interval_s=2, message="every order settled")
    confirmed = [o for o in orders if status(o) == "CONFIRMED"]
    for order_id in confirmed[:2]:
        assert http.post(f"{cloud.api_url}/orders/{order_id}/cancel", timeout=30).status_code in (200, 202)
    wait_until(lambda: all(status(o) == "CANCELLED" for o in confirmed[:2]), timeout_s=60, message="cancellations")
    wait_quiet(cloud, timeout_s=SETTLE_S)
    statuses = {o: status(o) for o in orders}
    assert {"CONFIRMED", "REJECTED", "CANCELLED"} <= set(statuses.values()), statuses
    return orders


def test_replaying_the_archive_twice_changes_nothing(cloud, run):
    target = from_deployed_stack(cloud.stack, cloud.endpoints, lambda_url=cloud.api_url)
    before = snapshot(cloud)
    archived = len(before["ArchiveBucket"])
    assert archived >= 2 * ORDERS  # placed + (confirmed | rejected), + cancellations

    for attempt in (1, 2):
        items = items_from_archive(target, ArchiveQuery())
        started = time.monotonic()
        summary = Replayer(target, ReplayOptions(progress=False)).run(items)
        published = time.monotonic() - started
        quiet = wait_quiet(cloud, timeout_s=SETTLE_S) - started
        print(f"replay {attempt}: {summary.replayed} events published in {published:.2f}s "
              f"({summary.replayed / published:.0f}/s); stack quiet after {quiet:.1f}s")
        assert (summary.replayed, summary.failed) == (archived, 0)
        after = snapshot(cloud)
        assert after == before, "\n".join(diff(before, after))


def test_replaying_into_a_fresh_stack_rebuilds_search_and_analytics(cloud, run):
    source = snapshot(cloud)
    archive = f"s3://{cloud.stack.physical_id('ArchiveBucket')}"
    with LocalCloud(template=ROOT / "template.yaml", stack_name="fresh", endpoint_url=cloud.endpoints.default) as fresh:
        target = from_deployed_stack(fresh.stack, fresh.endpoints, lambda_url=fresh.api_url)
        empty = snapshot(fresh)
        assert empty["SearchTable"] == [] and empty["DataLakeBucket"] == {}

        items = items_from_archive(target, ArchiveQuery(), bucket=archive)
        summary = Replayer(target, ReplayOptions(progress=False, subscribers=("SearchQueue", "AnalyticsQueue"))).run(items)
        assert (summary.replayed, summary.failed) == (len(source["ArchiveBucket"]), 0)
        wait_quiet(fresh, timeout_s=SETTLE_S)
        rebuilt = snapshot(fresh)

    assert rebuilt["SearchTable"] == source["SearchTable"], "\n".join(diff(source, rebuilt))
    assert rebuilt["DataLakeBucket"] == source["DataLakeBucket"], "\n".join(diff(source, rebuilt))
    # only the two projections were fed: no order, payment, receipt or shipment appeared in the fresh stack
    assert rebuilt["OrdersTable"] == [] and rebuilt["ShipmentsTable"] == [] and rebuilt["ReceiptsBucket"] == {}
