"""How one DynamoDB emulator's cost per transaction grows with the data: a bounded benchmark.

    python -m ordertools.bench_emulator --sizes 200 5000 --transactions 60 --out .orderflow/bench-emulator.json

For each emulator and each table size, two fresh tables (a catalog and a reservations table, SIZE
items each) take TRANSACTIONS stock reservations of the checkout's shape (inventory.py): one
TransactWriteItems that decrements a sku's stock under `stock >= :q` and puts a reservation under
`attribute_not_exists`, one client, one after the other, after 10 untimed ones. Prints transactions/s and ms per
transaction with the load average, and writes them as JSON. Emulators:

- `moto-stock`:     moto's own `moto_server`, as installed (its TransactWriteItems copies each table)
- `moto-embedded`:  the local cloud's embedded moto (`EmbeddedMoto`: per-table locks, item-sized undo)
- `dynamodb-local`: AWS's DynamoDB Local (`DynamoDBLocal`; `make dynamodb-local-install` first)

Each run stops at TRANSACTIONS or after --max-seconds, whichever comes first: a slow emulator
reports the rate of the transactions it managed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import requests

from localcloud.emulator import DynamoDBLocal, EmbeddedMoto, Endpoints

_BATCH = 25  # BatchWriteItem's limit
_START_TIMEOUT_S = 30
_WARM_UP = 10  # untimed transactions per emulator and size


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def stock_moto() -> Iterator[Endpoints]:
    """moto's own server, unpatched: what a plain `moto_server` gives anyone who points the stack at one."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server on port {port} did not start") from None
                time.sleep(0.1)
        yield Endpoints(default=url)
    finally:
        process.kill()  # moto_server can sit out a SIGTERM; it holds nothing worth a clean stop
        process.wait()


EMULATORS: dict[str, Callable[[], AbstractContextManager[Endpoints]]] = {
    "moto-stock": stock_moto,
    "moto-embedded": EmbeddedMoto,
    "dynamodb-local": DynamoDBLocal,
}


def _create_tables(dynamodb: Any, suffix: str) -> tuple[str, str]:
    names = (f"catalog-{suffix}", f"reservations-{suffix}")
    for name, key in zip(names, ("sku", "order_id"), strict=True):
        dynamodb.create_table(
            TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
    return names


def _fill(dynamodb: Any, catalog: str, reservations: str, size: int) -> None:
    for start in range(0, size, _BATCH):
        numbers = range(start, min(start + _BATCH, size))
        for table, items in (
            (catalog, [{"sku": {"S": f"SKU-{n}"}, "stock": {"N": "1000000"}} for n in numbers]),
            (reservations, [{"order_id": {"S": f"old-{n}"}, "lines": {"M": {}}} for n in numbers]),
        ):
            dynamodb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in items]})


def _reserve(dynamodb: Any, catalog: str, reservations: str, sku: str, order_id: str) -> None:
    dynamodb.transact_write_items(TransactItems=[
        {"Update": {"TableName": catalog, "Key": {"sku": {"S": sku}}, "UpdateExpression": "SET stock = stock - :q",
                    "ConditionExpression": "stock >= :q", "ExpressionAttributeValues": {":q": {"N": "1"}}}},
        {"Put": {"TableName": reservations, "Item": {"order_id": {"S": order_id}, "lines": {"M": {sku: {"N": "1"}}}},
                 "ConditionExpression": "attribute_not_exists(order_id)"}},
    ])


def measure(endpoints: Endpoints, size: int, transactions: int, max_seconds: float) -> dict[str, Any]:
    """Transactions per second against two tables of `size` items (fresh tables per call)."""
    dynamodb = endpoints.client("dynamodb")
    catalog, reservations = _create_tables(dynamodb, f"{size}-{time.monotonic_ns()}")
    _fill(dynamodb, catalog, reservations, size)
    for n in range(_WARM_UP):  # a JVM compiles its hot paths first: time the steady state only
        _reserve(dynamodb, catalog, reservations, f"SKU-{n}", f"warm-up-{n}")
    started = time.perf_counter()
    done = 0
    while done < transactions and time.perf_counter() - started < max_seconds:
        _reserve(dynamodb, catalog, reservations, f"SKU-{(done * 7919) % size}", f"bench-{done}")
        done += 1
    elapsed = time.perf_counter() - started
    return {"items": size, "transactions": done, "seconds": round(elapsed, 3),
            "per_second": round(done / elapsed, 1), "ms_per_transaction": round(1000 * elapsed / done, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulators", nargs="+", choices=sorted(EMULATORS), default=list(EMULATORS))
    parser.add_argument("--sizes", nargs="+", type=int, default=[200, 5000])
    parser.add_argument("--transactions", type=int, default=60)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per emulator and size")
    parser.add_argument("--out", type=Path, default=Path(".orderflow") / "bench-emulator.json")
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    print(f"{'emulator':<16}{'items':>7}{'txns':>6}{'txn/s':>9}{'ms/txn':>9}")
    for name in args.emulators:
        with EMULATORS[name]() as endpoints:
            for size in args.sizes:
                row = {"emulator": name, **measure(endpoints, size, args.transactions, args.max_seconds)}
                results.append(row)
                print(f"{name:<16}{size:>7}{row['transactions']:>6}{row['per_second']:>9}{row['ms_per_transaction']:>9}", flush=True)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min); {os.cpu_count()} cores")
    report = {"results": results, "load_average": {"before": load_before, "after": load_after},
              "cpus": os.cpu_count(), "python": platform.python_version(), "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
