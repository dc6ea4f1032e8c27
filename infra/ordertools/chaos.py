"""`orderflow chaos`: run the order flow under a fault plan on a fresh local cloud, then check every invariant.

    orderflow chaos --orders 200 --faults all --seed 7 --out .orderflow/chaos.json

Starts embedded moto, the fault proxy in front of it (the functions' endpoint) and the payment
sandbox with the plan's provider faults (`localcloud.faults`); seeds the bench's products; arms
the plan; places the orders as the bench does (same plan of orders, same retrying client:
`ordertools.bench`), with a progress bar of settled orders on stderr; waits until every order
settles, the pipeline is quiet and no work queue holds a message (one a failed invocation left
invisible until its visibility timeout is work still to come); disarms the plan; runs the invariant checker over the whole
state (`ordertools.invariants`). Prints faults fired by kind, orders by outcome, violations and
elapsed time, writes them as JSON, and exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.faults.cloud import faulty_cloud
from localcloud.faults.plan import FaultInjector, FaultPlan, FaultPlanError
from ordertools import bench
from ordertools.bench_observer import BenchObserver
from ordertools.dlq import find_dead_letter_queues
from ordertools.invariants import check
from ordertools.progress import Progress
from ordertools.seed import seed
from ordertools.state_snapshot import catalog_stock, read_snapshot, scan
from ordertools.targets import QUEUE, TargetError, from_deployed_stack

_POLL_S = 1.0


@dataclass(frozen=True)
class ChaosConfig:
    orders: int = 100
    faults: str = "all"
    seed: int = 0
    concurrency: int = 4
    declined_share: float = 0.1
    sold_out_share: float = 0.05
    out: Path = Path(".orderflow/chaos.json")
    template: Path = Path("template.yaml")
    stack_name: str = "orderflow-chaos"
    settle_timeout_s: float = 600.0
    progress: bool = True


def _settled_count(target: Any) -> int:
    return sum(1 for row in scan(target, "OrdersTable") if row["status"] in bench.SETTLED)


def _messages_waiting(target: Any) -> int:
    """Messages still to be handled in the work queues (not the DLQs): a message a failed invocation left
    invisible until its visibility timeout is work to come, even while no invocation runs."""
    sqs = target.client("sqs")
    dead = {d.url for d in find_dead_letter_queues(target)}
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    total = 0
    for queue in target.of_type(QUEUE):
        if queue.physical_id not in dead:
            attributes = sqs.get_queue_attributes(QueueUrl=queue.physical_id, AttributeNames=names)["Attributes"]
            total += sum(int(attributes.get(name, 0)) for name in names)
    return total


def wait_drained(observer: BenchObserver, cloud: Any, target: Any, deadline: float) -> bool:
    """Quiet (no invocation for a while) and no message left in any work queue, or the deadline."""
    while time.monotonic() < deadline:
        if bench.wait_quiet(observer, cloud, max(1.0, deadline - time.monotonic())) and _messages_waiting(target) == 0:
            return True
        time.sleep(_POLL_S)
    return False


def run(config: ChaosConfig) -> tuple[dict[str, Any], int]:
    """(result document, exit code: 1 on any violation)."""
    plan = FaultPlan.load(config.faults, config.seed)
    plan.validate_injectable()
    injector = FaultInjector(plan)
    planned = bench.plan(bench.BenchConfig(orders=config.orders, declined_share=config.declined_share, sold_out_share=config.sold_out_share))
    observer = BenchObserver()
    started = time.monotonic()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    with faulty_cloud(injector, template=config.template, stack_name=config.stack_name, observers=(observer,)) as cloud:
        target = from_deployed_stack(cloud.stack, cloud.endpoints)
        seed(cloud.client("dynamodb"), cloud.stack.physical_id("CatalogTable"), bench.products(planned))
        initial = catalog_stock(target)
        injector.arm()
        load_started = time.monotonic()
        placements: list[bench.Placement] = []
        placing = threading.Thread(
            target=lambda: placements.extend(bench.place_all(cloud.api_url, planned, config.concurrency, config.settle_timeout_s, uuid.uuid4().hex[:8])),
            name="chaos-placing",
        )
        placing.start()
        progress = Progress("settled", config.orders, enabled=config.progress)
        deadline = time.monotonic() + config.settle_timeout_s
        done = 0
        while time.monotonic() < deadline:
            now = _settled_count(target)
            progress.advance(now - done)
            done = now
            if not placing.is_alive() and done >= sum(1 for p in placements if p.order_id):
                break
            time.sleep(_POLL_S)
        progress.close()
        placing.join(timeout=max(0.0, deadline - time.monotonic()))
        quiet = wait_drained(observer, cloud, target, max(deadline, time.monotonic() + 30.0))
        injector.disarm()
        load_s = time.monotonic() - load_started
        report = check(read_snapshot(target, payment_url=cloud.stack.parameters["PaymentProviderUrl"], initial_stock=initial))
        stats = cloud.runtime.stats()
    placed = Counter("accepted" if p.order_id else "not accepted" for p in placements)
    result = {
        "run": {
            "orders": config.orders,
            "faults": plan.name,
            "seed": config.seed,
            "concurrency": config.concurrency,
            "cpus": os.cpu_count(),
            "loadavg_before": loadavg_before,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "pipeline_went_quiet": quiet,
            "elapsed_s": round(time.monotonic() - started, 1),
            "load_s": round(load_s, 1),
        },
        "plan": [{"kind": f.kind.value, "label": f.label, "rate": f.rate} for f in plan.faults],
        "faults_fired": injector.fired_by_kind(),
        "placements": dict(placed),
        "not_accepted": [p.error for p in placements if not p.order_id][:20],
        "check": report.to_json(),
        "function_errors": {name: s.get("errors", 0) for name, s in stats.items() if s.get("errors")},
    }
    return result, 0 if report.ok else 1


def format_report(result: dict[str, Any]) -> str:
    run_info, checked = result["run"], result["check"]
    lines = [
        f"chaos: {run_info['orders']} orders, faults {run_info['faults']}, seed {run_info['seed']}, "
        f"{run_info['elapsed_s']} s ({run_info['load_s']} s under load), load {run_info['loadavg_before']} -> {run_info['loadavg_after']}",
        "",
        f"{'faults fired':<32} {'count':>7}",
    ]
    lines += [f"  {kind:<30} {count:>7}" for kind, count in result["faults_fired"].items()] or ["  (none)"]
    lines += ["", f"{'orders':<32} {'count':>7}"]
    lines += [f"  {status:<30} {count:>7}" for status, count in checked["orders_by_status"].items()]
    lines += [f"  {'placements ' + kind:<30} {count:>7}" for kind, count in result["placements"].items()]
    lines += ["", f"{'dead letters':<32} {len(checked['dead_letters']):>7}", f"{'violations':<32} {len(checked['violations']):>7}"]
    lines += [f"  {rule:<30} {count:>7}" for rule, count in checked["violations_by_rule"].items()]
    lines += [f"  {v['rule']} {v['subject']}: {v['detail']}" for v in checked["violations"][:20]]
    return "\n".join(lines)


def _cmd_chaos(args: argparse.Namespace) -> int:
    if args.orders < 1 or args.concurrency < 1:
        raise TargetError("--orders and --concurrency must be at least 1")
    config = ChaosConfig(
        orders=args.orders,
        faults=args.faults,
        seed=args.seed,
        concurrency=args.concurrency,
        out=args.out,
        template=args.template,
        stack_name=args.stack_name,
        settle_timeout_s=args.settle_timeout,
    )
    try:
        result, code = run(config)
    except FaultPlanError as error:
        raise TargetError(str(error)) from error
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(result, indent=2) + "\n")
    print(format_report(result))
    print(f"\nwrote {config.out}")
    if code:
        print(f"FAILED: {len(result['check']['violations'])} invariant violation(s)", file=sys.stderr)
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("chaos", help="run N orders under a fault plan on a fresh local cloud; check every invariant")
    parser.add_argument("--orders", type=int, default=100, help="orders to place (default 100)")
    parser.add_argument("--faults", default="all", help="a preset (none, emulator, payments, all, relay-outage) or a JSON plan file")
    parser.add_argument("--seed", type=int, default=0, help="the plan's seed: the same seed fires the same faults (default 0)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--out", type=Path, default=Path(".orderflow/chaos.json"), help="result file (default .orderflow/chaos.json)")
    parser.add_argument("--template", type=Path, default=Path("template.yaml"), help="SAM template (default template.yaml)")
    parser.add_argument("--stack-name", default="orderflow-chaos", help="stack name (default orderflow-chaos)")
    parser.add_argument("--settle-timeout", type=float, default=600.0, help="seconds for every order to settle and the pipeline to go quiet")
    parser.set_defaults(handler=_cmd_chaos)
