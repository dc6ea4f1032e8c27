"""Benchmark: how fast an archive replay goes through the real stack on the local cloud.

    .venv/bin/python tests/replay/bench_replay.py --orders 100

Places N orders over HTTP (8 at a time), waits until the stack is quiet, then replays the whole
archive into the same stack and reports: archive read time, publish rate, and the time until
every consumer has processed the replayed events (orders/s and events/s). Not a test: figures
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "infra"), str(ROOT / "functions"), str(ROOT / "tests")]

import requests  # noqa: E402

from localcloud.cloud import LocalCloud  # noqa: E402
from ordertools.archive import ArchiveQuery  # noqa: E402
from ordertools.dlq import failure_reason, find_dead_letter_queues  # noqa: E402
from ordertools.replay import Replayer, ReplayOptions, items_from_archive  # noqa: E402
from ordertools.seed import seed  # noqa: E402
from ordertools.sqs_messages import peek  # noqa: E402
from ordertools.targets import from_deployed_stack  # noqa: E402
from replay.stack_state import diff, snapshot, wait_quiet  # noqa: E402

ADDRESS = {"name": "Bench", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4, help="replay publication batches in flight")
    args = parser.parse_args()

    with LocalCloud(template=ROOT / "template.yaml", parameters={"PaymentTimeoutMs": "2000"}) as cloud:
        sku = f"BENCH-{uuid.uuid4().hex[:6].upper()}"
        seed(cloud.client("dynamodb"), cloud.stack.physical_id("CatalogTable"),
             [{"sku": sku, "name": "Bench", "price_cents": 500, "stock": 10 * args.orders}])
        http = requests.Session()

        def place(n: int) -> int:
            body = {"customer_id": f"c{n}", "items": [{"sku": sku, "quantity": 1}], "payment_token": "tok_visa",
                    "shipping_address": ADDRESS}
            return http.post(f"{cloud.api_url}/orders", json=body, headers={"Idempotency-Key": f"bench-{n}"}, timeout=60).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(place, range(args.orders)))
        assert set(codes) == {202}, set(codes)
        quiet = wait_quiet(cloud, timeout_s=3600, quiet_s=3) - started
        print(f"run: {args.orders} orders placed and fully processed in {quiet:.1f}s ({args.orders / quiet:.1f} orders/s)")

        before = snapshot(cloud)
        target = from_deployed_stack(cloud.stack, cloud.endpoints, lambda_url=cloud.api_url)
        t0 = time.monotonic()
        items = items_from_archive(target, ArchiveQuery())
        t1 = time.monotonic()
        summary = Replayer(target, ReplayOptions(progress=False, concurrency=args.concurrency)).run(items)
        t2 = time.monotonic()
        settled = wait_quiet(cloud, timeout_s=3600, quiet_s=3)
        print(f"archive read: {len(items)} events in {t1 - t0:.2f}s ({len(items) / (t1 - t0):.0f} events/s)")
        print(f"publish: {summary.replayed} events in {t2 - t1:.2f}s ({summary.replayed / (t2 - t1):.0f} events/s), failed {summary.failed}")
        total = settled - t0
        print(f"replay end to end (read + publish + every consumer done): {total:.1f}s = "
              f"{args.orders / total:.1f} orders/s, {len(items) / total:.1f} events/s")
        after = snapshot(cloud)
        print("state unchanged" if after == before else "STATE CHANGED:\n" + "\n".join(diff(before, after)))
        for name, stats in cloud.runtime.stats().items():
            if stats.get("errors") or stats.get("timeouts") or stats.get("throttles"):
                print(f"  {name}: {stats['invocations']} invocations, {stats['errors']} errors, "
                      f"{stats['timeouts']} timeouts, {stats['throttles']} throttles")
        for dlq in find_dead_letter_queues(target):
            for message in peek(target.client("sqs"), dlq.url, 1):
                print(f"  {dlq.logical_id}: {failure_reason(message, dlq)}; body {message.body[:100]}")
        return 0 if after == before and summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
