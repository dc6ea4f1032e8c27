"""A local cloud of the whole template on embedded moto, the payment sandbox as sidecar, and the helpers
the reliability tests share: place orders as the bench does, wait for the pipeline to go quiet, check."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.cli import stack_to_json
from localcloud.cloud import LocalCloud
from localcloud.faults.cloud import faulty_cloud
from localcloud.faults.plan import FaultInjector, FaultPlan
from ordertools import bench
from ordertools.bench_observer import BenchObserver
from ordertools.invariants import Report, check
from ordertools.state_snapshot import catalog_stock, read_snapshot
from ordertools.targets import StackTarget, from_deployed_stack

ROOT = Path(__file__).resolve().parents[2]


class Stack:
    """A running LocalCloud with what a test needs to drive it and judge it."""

    def __init__(self, cloud: LocalCloud, observer: BenchObserver) -> None:
        self.cloud = cloud
        self.observer = observer
        self.target: StackTarget = from_deployed_stack(cloud.stack, cloud.endpoints)
        self.initial_stock: dict[str, int] = {}

    def seed(self, planned: list[bench.PlannedOrder]) -> None:
        products = bench.products(planned)
        bench.seed(self.cloud.client("dynamodb"), self.cloud.stack.physical_id("CatalogTable"), products)
        self.initial_stock = catalog_stock(self.target)

    def run(self, planned: list[bench.PlannedOrder], run_id: str, *, timeout_s: float = 240) -> set[str]:
        placements = bench.place_all(self.cloud.api_url, planned, 4, timeout_s, run_id)
        order_ids = {p.order_id for p in placements if p.order_id}
        assert len(order_ids) == len(planned), [p.error for p in placements if p.error]
        self.settle(order_ids, timeout_s)
        return order_ids

    def settle(self, order_ids: set[str], timeout_s: float = 240) -> None:
        bench.wait_settled(self.cloud.client("dynamodb"), self.cloud.stack.physical_id("OrdersTable"), order_ids, timeout_s)
        assert bench.wait_quiet(self.observer, self.cloud, timeout_s), "the pipeline did not go quiet"

    def check(self) -> Report:
        url = self.cloud.stack.parameters["PaymentProviderUrl"]
        return check(read_snapshot(self.target, payment_url=url, initial_stock=self.initial_stock))

    def write_state(self, path: Path) -> Path:
        """The state file `orderflow up` would write, so the CLI finds this cloud."""
        state = {
            "pid": os.getpid(),
            "api_url": self.cloud.api_url,
            "stack_name": self.cloud.stack.stack_name,
            "endpoints": {"default": self.cloud.endpoints.default, "per_service": dict(self.cloud.endpoints.per_service),
                          "region": self.cloud.endpoints.region},
            "stack": stack_to_json(self.cloud.stack),
        }
        path.write_text(json.dumps(state))
        return path


def start_stack(stack_name: str, **options: Any) -> Iterator[Stack]:
    observer = BenchObserver()
    with LocalCloud(template=ROOT / "template.yaml", stack_name=stack_name, observers=(observer,), **options) as cloud:
        yield Stack(cloud, observer)


def start_faulty_stack(stack_name: str, injector: FaultInjector, **options: Any) -> Iterator[Stack]:
    """A stack whose handlers reach moto through the fault proxy (and whose payment sandbox takes the plan's faults)."""
    observer = BenchObserver()
    with faulty_cloud(injector, template=ROOT / "template.yaml", stack_name=stack_name, observers=(observer,), **options) as cloud:
        yield Stack(cloud, observer)


def no_faults() -> FaultInjector:
    return FaultInjector(FaultPlan())


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    yield from start_stack(f"rel-{request.module.__name__.rsplit('.', 1)[-1].replace('_', '-')[:20]}")
