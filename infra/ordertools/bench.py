"""`orderflow bench`: orders per second, latency per stage and AWS calls per order, on a fresh local cloud.

    orderflow bench --orders 300 --concurrency 8 --out .orderflow/bench.json

Starts the local cloud (template + payment sandbox; embedded moto unless --endpoint-url),
seeds bench products with enough stock, places N orders over HTTP from C concurrent clients,
waits (bounded) for every order to settle and for the fan-out consumers to go quiet, then
measures each handler module's import time in fresh interpreters. Figures come from the
runtime's observer seam (every invocation's duration, source wait, AWS calls, cold start),
the orders' own history timestamps and the payment sandbox's ledger. Writes them as JSON to
--out, prints a table, and exits 1 if any order was not accepted, did not settle, or settled
other than planned (a declined token must be REJECTED, a normal order CONFIRMED).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from boto3.dynamodb.types import TypeDeserializer

from localcloud.cloud import LocalCloud
from ordertools import bench_anchors, bench_imports
from ordertools.bench_cpu import CpuSampler, Snapshot, summarise_cpu
from ordertools.bench_observer import BenchObserver, percentiles, summarise
from ordertools.http_client import place_order
from ordertools.seed import seed

SETTLED = frozenset({"CONFIRMED", "REJECTED"})
SKUS = ("BENCH-A", "BENCH-B", "BENCH-C")
SOLD_OUT_SKU = "BENCH-SOLDOUT"
ADDRESS = {"name": "Barbara Liskov", "line1": "1 Substitution Rd", "city": "Boston", "postal_code": "02139", "country": "US"}
QUIET_S = 3.0  # the pipeline counts as done when no invocation has finished for this long
_POLL_S = 0.5
_ATTEMPTS = 3  # per order, same Idempotency-Key
# Stream records carry their creation time rounded to the second: a record the run caused may look this much older.
_DEPLOY_SLACK_S = 1.0


@dataclass(frozen=True)
class BenchConfig:
    orders: int = 300
    concurrency: int = 8
    out: Path = Path(".orderflow/bench.json")
    endpoint_url: str | None = None
    template: Path = Path("template.yaml")
    stack_name: str = "orderflow-bench"
    declined_share: float = 0.0
    sold_out_share: float = 0.0
    place_timeout_s: float = 600.0
    settle_timeout_s: float = 300.0
    import_runs: int = 5
    idle_s: float = 5.0
    anchor_calls: int = 20


@dataclass(frozen=True)
class PlannedOrder:
    index: int
    items: tuple[tuple[str, int], ...]
    token: str
    expected: str  # "CONFIRMED" or "REJECTED/<reason>"


@dataclass
class Placement:
    planned: PlannedOrder
    sent_at: float = 0.0
    answered_at: float = 0.0
    status_code: int | None = None
    order_id: str | None = None
    error: str | None = None
    attempts: int = 0


def _picked(index: int, share: float) -> bool:
    """Spread a share evenly over the run (every 1/share-th order), so it is the same every run."""
    return int((index + 1) * share) > int(index * share)


def plan(config: BenchConfig) -> list[PlannedOrder]:
    planned = []
    for index in range(config.orders):
        items: tuple[tuple[str, int], ...] = ((SKUS[index % len(SKUS)], 1), (SKUS[(index + 1) % len(SKUS)], 2))
        token, expected = "tok_visa", "CONFIRMED"
        if _picked(index, config.sold_out_share):
            items, expected = ((SOLD_OUT_SKU, 1),), "REJECTED/OUT_OF_STOCK"
        elif _picked(index, config.declined_share):
            token, expected = "tok_declined", "REJECTED/PAYMENT_DECLINED"
        planned.append(PlannedOrder(index, items, token, expected))
    return planned


def products(planned: list[PlannedOrder]) -> list[dict[str, Any]]:
    """Enough stock for every planned line (stock never decides an outcome unless planned), plus one sold-out sku."""
    wanted: Counter[str] = Counter()
    for order in planned:
        for sku, quantity in order.items:
            wanted[sku] += quantity
    catalog = [{"sku": sku, "name": f"Bench {sku}", "price_cents": 990, "currency": "EUR", "stock": wanted[sku] + 10} for sku in SKUS]
    catalog.append({"sku": SOLD_OUT_SKU, "name": "Bench sold out", "price_cents": 990, "currency": "EUR", "stock": 0})
    return catalog


# -- load -----------------------------------------------------------------------------------------


def place_all(
    api_url: str, planned: list[PlannedOrder], concurrency: int, timeout_s: float, run_id: str, sampler: CpuSampler | None = None
) -> list[Placement]:
    """POST every planned order from `concurrency` clients (one HTTP session each); none is sent after the deadline.
    Each client's thread CPU goes to `sampler`, if given, as the benchmark's, not the runtime's (`orderflow chaos`
    and the reliability tests place orders without measuring CPU)."""
    deadline = time.monotonic() + timeout_s
    local = threading.local()

    def place(order: PlannedOrder) -> Placement:
        started_cpu = time.thread_time()
        try:
            return _place(order)
        finally:
            if sampler is not None:
                sampler.add_not_runtime(time.thread_time() - started_cpu)

    def _place(order: PlannedOrder) -> Placement:
        placement = Placement(order)
        if time.monotonic() > deadline:
            placement.error = "not sent: placing deadline passed"
            return placement
        if not hasattr(local, "http"):
            local.http = requests.Session()
        body = {
            "customer_id": f"bench-{run_id}-{order.index % 50}",
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in order.items],
            "payment_token": order.token,
            "shipping_address": ADDRESS,
        }
        placement.sent_at = time.time()
        try:
            answer = place_order(local.http, api_url, body, f"bench-{run_id}-{order.index}", attempts=_ATTEMPTS, deadline=deadline)
        except requests.RequestException as error:
            placement.error = f"{type(error).__name__}: {error}"
            return placement
        response, placement.attempts = answer.response, answer.attempts
        placement.answered_at = time.time()
        placement.status_code = response.status_code
        if response.status_code == 202:
            placement.order_id = str(response.json()["order_id"])
        else:
            placement.error = f"HTTP {response.status_code}: {response.text[:200]}"
        return placement

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-client") as pool:
        return list(pool.map(place, planned))


def _scan_orders(dynamodb: Any, table: str, projection: str) -> dict[str, dict[str, Any]]:
    deserialize = TypeDeserializer().deserialize
    names = {"#id": "order_id", "#status": "status", "#reason": "reason", "#history": "history"}
    used = {k: v for k, v in names.items() if k in projection}
    found: dict[str, dict[str, Any]] = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=projection, ExpressionAttributeNames=used):
        for item in page.get("Items", []):
            order = {key: deserialize(value) for key, value in item.items()}
            found[str(order["order_id"])] = order
    return found


def wait_settled(dynamodb: Any, table: str, order_ids: set[str], timeout_s: float) -> dict[str, dict[str, Any]]:
    """Poll the orders table (not the API: that would add invocations to the figures) until all settle or the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = _scan_orders(dynamodb, table, "#id, #status")
        pending = [i for i in order_ids if statuses.get(i, {}).get("status") not in SETTLED]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(_POLL_S)
    orders = _scan_orders(dynamodb, table, "#id, #status, #reason, #history")
    return {order_id: orders[order_id] for order_id in order_ids if order_id in orders}


def wait_quiet(observer: BenchObserver, cloud: LocalCloud, timeout_s: float) -> bool:
    """After settling, consumers still work through OrderConfirmed: wait until nothing runs for QUIET_S."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = any(f.get("in_flight", 0) or f.get("async_pending", 0) for f in cloud.runtime.stats().values())
        if not busy and observer.quiet_for() >= QUIET_S:
            return True
        time.sleep(_POLL_S)
    return False


# -- figures --------------------------------------------------------------------------------------


def _at(entry: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(entry["at"])).timestamp()


def journey(order: dict[str, Any]) -> tuple[float | None, float | None]:
    """(accepted at, settled at) from the order's own history: its PLACED step and its first settled status."""
    history = order.get("history") or []
    placed = next((_at(h) for h in history if h.get("step") == "PLACED"), None)
    settled = next((_at(h) for h in history if h.get("status") in SETTLED), None)
    return placed, settled


def outcome(order: dict[str, Any] | None) -> str:
    if order is None:
        return "MISSING"
    status = str(order.get("status"))
    return f"{status}/{order['reason']}" if status == "REJECTED" and order.get("reason") else status


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 2) if count and seconds > 0 else None


def order_figures(placements: list[Placement], orders: dict[str, dict[str, Any]]) -> dict[str, Any]:
    accepted = [p for p in placements if p.order_id]
    outcomes: Counter[str] = Counter()
    unexpected, unsettled = [], []
    to_settled, to_confirmed, settle_times = [], [], []
    for placement in accepted:
        assert placement.order_id is not None
        order = orders.get(placement.order_id)
        ended = outcome(order)
        outcomes[ended] += 1
        placed_at, settled_at = journey(order) if order is not None else (None, None)
        if settled_at is None or placed_at is None:
            unsettled.append(placement.order_id)
            continue
        settle_times.append(settled_at)
        to_settled.append((settled_at - placed_at) * 1000.0)
        if ended == "CONFIRMED":
            to_confirmed.append((settled_at - placed_at) * 1000.0)
        if ended != placement.planned.expected:
            unexpected.append({"order_id": placement.order_id, "expected": placement.planned.expected, "ended": ended})
    first_sent = min((p.sent_at for p in placements if p.sent_at), default=0.0)
    last_answer = max((p.answered_at for p in accepted), default=first_sent)
    last_settled = max(settle_times, default=first_sent)
    return {
        "counts": {
            "planned": len(placements),
            "accepted": len(accepted),
            "not_accepted": len(placements) - len(accepted),
            "retried": sum(1 for p in placements if p.attempts > 1),
            "settled": len(settle_times),
            "unsettled": len(unsettled),
            "unexpected": len(unexpected),
            "outcomes": dict(sorted(outcomes.items())),
        },
        "not_accepted": [{"index": p.planned.index, "error": p.error} for p in placements if not p.order_id][:20],
        "unsettled_ids": unsettled[:20],
        "unexpected_outcomes": unexpected[:20],
        "throughput": {
            "accepted_per_s": _rate(len(accepted), last_answer - first_sent),
            "settled_per_s": _rate(len(settle_times), last_settled - first_sent),
            "placing_s": round(last_answer - first_sent, 2),
            "first_post_to_last_settled_s": round(last_settled - first_sent, 2),
        },
        "latency_ms": {
            "post_accept": percentiles(  # first send to the 202, retries included: what the client waited
(p.answered_at - p.sent_at) * 1000.0 for p in accepted),
            "accept_to_confirmed": percentiles(to_confirmed),
            "accept_to_settled": percentiles(to_settled),
        },
    }


def payment_figures(cloud: LocalCloud, order_ids: set[str], orders: int) -> dict[str, Any]:
    """Provider operations per order from the sandbox's ledger (changes only) plus its idempotent replays."""
    sandbox: Any = cloud.sidecars.get("payments")
    if sandbox is None:
        return {"per_order": None, "by_operation_per_order": {}, "replays": None}
    entries = [e for e in sandbox.ledger() if e.get("reference") in order_ids]
    by_operation = Counter(f"{e['operation']}:{e['outcome']}" for e in entries)
    replays = sandbox.ledger_store.replays()
    return {
        "per_order": round((len(entries) + replays) / orders, 2) if orders else None,
        "ledger_entries": len(entries),
        "replays": replays,
        "by_operation_per_order": {op: round(n / orders, 2) for op, n in sorted(by_operation.items())} if orders else {},
    }


# -- report ---------------------------------------------------------------------------------------


def _pct_cells(figures: dict[str, Any]) -> list[str]:
    return [("-" if figures[k] is None else f"{figures[k]:.0f}") for k in ("p50", "p90", "p99", "max")] + [str(figures["count"])]


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))) for row in rows]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def format_report(result: dict[str, Any]) -> str:
    run, counts, flow = result["run"], result["orders"]["counts"], result["orders"]
    lines = [
        f"orderflow bench: {run['orders']} orders, {run['concurrency']} clients, load average {run['loadavg_before']} "
        f"({run['cpus']} cpus), {run['endpoint']}",
        f"orders: accepted {counts['accepted']}/{counts['planned']} ({counts['retried']} retried), settled {counts['settled']}, unsettled {counts['unsettled']}, "
        f"unexpected {counts['unexpected']}; outcomes {counts['outcomes']}",
        f"throughput: {flow['throughput']['accepted_per_s']} accepted/s, {flow['throughput']['settled_per_s']} settled/s "
        f"(first POST to last settled {flow['throughput']['first_post_to_last_settled_s']} s)",
        "",
    ]
    rows = [["latency (ms)", "p50", "p90", "p99", "max", "n"]]
    rows += [[name, *_pct_cells(figures)] for name, figures in flow["latency_ms"].items()]
    for function, stage in result["stages"].items():
        rows.append([f"{function} invoke", *_pct_cells(stage["invoke_ms"])])
        if stage["source_wait_ms"]["count"]:
            rows.append([f"{function} source wait", *_pct_cells(stage["source_wait_ms"])])
    lines += _table(rows)
    calls = result["aws_calls"]
    lines += ["", f"AWS calls per order: {calls['per_order']} (total {calls['total']})"]
    lines += [f"  {op:<34} {n:>6}" for op, n in calls["by_operation_per_order"].items()]
    payments = result["payments"]
    lines += [f"payment-provider calls per order: {payments['per_order']} {payments.get('by_operation_per_order', {})}", ""]
    rows = [["function", "invocations", "errors", "calls", "cold starts", "init p50 ms", "import p50 ms"]]
    for function, stage in result["stages"].items():
        cold = result["cold_starts"][function]
        imported = result["import_ms"].get(function, {})
        rows.append(
            [
                function,
                str(stage["invocations"]),
                str(stage["errors"]),
                str(stage["aws_calls"]),
                str(cold["count"]),
                "-" if cold["init_ms"]["p50"] is None else f"{cold['init_ms']['p50']:.0f}",
                "-" if not imported else f"{imported['p50_ms']:.0f}",
            ]
        )
    lines += _table(rows)
    return "\n".join([*lines, "", *format_cpu(result)])


def format_cpu(result: dict[str, Any]) -> list[str]:
    """The CPU part of the report: per order by process, idle, per tenth of the orders, the bound."""
    cpu, load = result["cpu"], result["cpu"]["load"]
    bound = cpu["bound"]
    lines = [
        f"CPU per order: {cpu['per_order_ms']} ms ({load['total_s']} s over {load['wall_s']} s of load; "
        f"{load['reaped_unsampled_s']} s of it from {load['processes_ended']} processes that ended between samples; "
        f"benchmark clients {load['bench_clients_s']} s and sampler {load['sampler_s']} s left out)",
        f"CPU bound: {bound['cores']} cores / CPU per order = {bound['orders_per_s']} orders/s; "
        f"utilisation {bound['utilisation']} (settled/s / bound); ready in {result['run']['ready_s']} s",
        f"idle ({cpu['idle']['seconds']} s, nothing to do): {cpu['idle']['share_of_one_core']} of one core "
        + ", ".join(f"{name} {share}" for name, share in cpu["idle"]["by_process_share"].items()),
    ]
    rows = [["process", "CPU s", "ms per order"]]
    rows += [[name, f"{load['by_process_s'][name]:.2f}", f"{ms:.1f}"] for name, ms in cpu["by_process_per_order_ms"].items()]
    lines += _table(rows)
    rows = [["tenth of the orders", "orders", "wall s", "CPU ms per order"]]
    rows += [[str(t["tenth"]), str(t["orders"]), f"{t['wall_s']:.1f}", f"{t['cpu_ms_per_order']:.1f}"] for t in cpu["per_tenth"]]
    lines += ["", *_table(rows)]
    warm = result["anchors"].get("warm_invoke")
    if warm:
        lines += [
            "",
            f"warm invoke, {warm['function']} on {warm['event']} ({warm['calls']} calls, p50): through the runtime "
            f"{warm['runtime']['warm_ms']['p50']} ms, bare handler {warm['bare_warm_ms']['p50']} ms, overhead "
            f"{warm['overhead_ms_p50']} ms (x{warm['ratio_p50']}); first call through the runtime {warm['runtime']['first']['ms']} ms",
        ]
    return lines


# -- the run --------------------------------------------------------------------------------------


def _idle(sampler: CpuSampler, seconds: float) -> tuple[Snapshot, Snapshot]:
    """CPU of the cloud with nothing to do (`orderflow up` before any order): two snapshots `seconds` apart."""
    before = sampler.snapshot()
    time.sleep(seconds)
    return before, sampler.snapshot()


def run(config: BenchConfig) -> tuple[dict[str, Any], int]:
    """(result document, exit code)."""
    planned = plan(config)
    run_id = uuid.uuid4().hex[:8]
    observer = BenchObserver()
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    started = datetime.now(UTC)
    ready_started = time.monotonic()
    with LocalCloud(
        template=config.template, stack_name=config.stack_name, endpoint_url=config.endpoint_url, observers=(observer,)
    ) as cloud:
        ready_s = time.monotonic() - ready_started
        sampler = CpuSampler(
            {spec.function_name: logical_id for logical_id, spec in cloud.stack.functions.items()},
            environments=cloud.runtime.environment_processes,
        )
        idle = _idle(sampler, config.idle_s)
        seed(cloud.client("dynamodb"), cloud.stack.physical_id("CatalogTable"), products(planned))
        anchors = (
            {"warm_invoke": bench_anchors.warm_overhead(cloud.runtime, cloud.endpoints.process_env(), config.template.parent / bench_anchors.DEFAULT_EVENT, bench_anchors.DEFAULT_FUNCTION, config.anchor_calls)}
            if config.anchor_calls
            else {}
        )
        load_started = time.time() - _DEPLOY_SLACK_S
        sampler.open_window()
        load_start = sampler.snapshot(record=True)
        main_cpu = time.thread_time()  # the main thread only places, polls the table and waits: the benchmark's
        sampler.start()
        placements = place_all(cloud.api_url, planned, config.concurrency, config.place_timeout_s, run_id, sampler)
        order_ids = {p.order_id for p in placements if p.order_id}
        orders = wait_settled(cloud.client("dynamodb"), cloud.stack.physical_id("OrdersTable"), order_ids, config.settle_timeout_s)
        quiet = wait_quiet(observer, cloud, config.settle_timeout_s)
        sampler.add_not_runtime(time.thread_time() - main_cpu)
        sampler.stop()
        load_end = sampler.snapshot(record=True)
        unsampled_s = sampler.reaped_unsampled_s()  # now: stopping the cloud reaps every environment
        # Only what the orders caused: not deploy-time events still draining (S3's test event to a notified queue),
        # nor the anchor's direct invocations (the slack above reaches back into them).
        samples = [
            s for s in observer.samples()
            if s.started_at >= load_started and not s.entered_before(load_started) and s.source_kind != "direct"
        ]
        payments = payment_figures(cloud, order_ids, len(order_ids))
        stats = cloud.runtime.stats()
        imports = (
            bench_imports.measure(cloud.stack.functions, cloud.endpoints.process_env(), config.import_runs) if config.import_runs else {}
        )
    flow = order_figures(placements, orders)
    settle_times = [settled for p in placements if p.order_id in orders and (settled := journey(orders[p.order_id])[1]) is not None]
    cpu = summarise_cpu(
        idle=idle,
        load=(load_start, load_end),
        sampler=sampler,
        unsampled_s=unsampled_s,
        orders=len(order_ids),
        settle_times=settle_times,
        settled_per_s=flow["throughput"]["settled_per_s"],
        cores=os.cpu_count() or 1,
    )
    result: dict[str, Any] = {
        "run": {
            "started": started.isoformat(timespec="seconds"),
            "orders": config.orders,
            "concurrency": config.concurrency,
            "declined_share": config.declined_share,
            "sold_out_share": config.sold_out_share,
            "endpoint": config.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or "embedded moto",
            "cpus": os.cpu_count(),
            "loadavg_before": loadavg_before,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "pipeline_went_quiet": quiet,
            "import_runs": config.import_runs,
            "ready_s": round(ready_s, 2),
        },
        "orders": flow,
        "cpu": cpu,
        "anchors": anchors,
        **summarise(samples, len(order_ids)),
        "payments": payments,
        "runtime_stats": stats,
        "import_ms": imports,
    }
    counts = flow["counts"]
    failed = counts["not_accepted"] or counts["unsettled"] or counts["unexpected"]
    return result, 1 if failed else 0


def _cmd_bench(args: argparse.Namespace) -> int:
    for name in ("declined_share", "sold_out_share"):
        if not 0.0 <= getattr(args, name) <= 1.0:
            raise SystemExit(f"--{name.replace('_', '-')} must be between 0 and 1")
    if args.orders < 1 or args.concurrency < 1:
        raise SystemExit("--orders and --concurrency must be at least 1")
    if args.idle_seconds <= 0:
        raise SystemExit("--idle-seconds must be above 0")
    config = BenchConfig(
        orders=args.orders,
        concurrency=args.concurrency,
        out=args.out,
        endpoint_url=args.endpoint_url,
        template=args.template,
        stack_name=args.stack_name,
        declined_share=args.declined_share,
        sold_out_share=args.sold_out_share,
        place_timeout_s=args.place_timeout,
        settle_timeout_s=args.settle_timeout,
        import_runs=args.import_runs,
        idle_s=args.idle_seconds,
        anchor_calls=args.anchor_calls,
    )
    result, code = run(config)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(format_report(result))
    print(f"\nwrote {config.out}")
    if code:
        counts = result["orders"]["counts"]
        print(
            f"FAILED: {counts['not_accepted']} not accepted, {counts['unsettled']} unsettled, {counts['unexpected']} unexpected outcomes",
            file=sys.stderr,
        )
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="place N orders on a fresh local cloud; print and save throughput, latency, AWS calls")
    parser.add_argument("--orders", type=int, default=300, help="orders to place (default 300)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent HTTP clients (default 8)")
    parser.add_argument("--out", type=Path, default=Path(".orderflow/bench.json"), help="result file (default .orderflow/bench.json)")
    parser.add_argument("--endpoint-url", help="AWS endpoint for every service (default: AWS_ENDPOINT_URL(_<SERVICE>) or embedded moto)")
    parser.add_argument("--template", type=Path, default=Path("template.yaml"), help="SAM template (default template.yaml)")
    parser.add_argument("--stack-name", default="orderflow-bench", help="stack name (default orderflow-bench)")
    parser.add_argument("--declined-share", type=float, default=0.0, help="share of orders paid with a declined token (0-1)")
    parser.add_argument("--sold-out-share", type=float, default=0.0, help="share of orders for a sold-out sku (0-1)")
    parser.add_argument("--place-timeout", type=float, default=600.0, help="seconds to send every order (default 600)")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="seconds for orders to settle, then for consumers to go quiet")
    parser.add_argument("--import-runs", type=int, default=5, help="fresh interpreters per handler for import time (0 = skip)")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="seconds of the cloud idle before the orders, for idle CPU (default 5)")
    parser.add_argument("--anchor-calls", type=int, default=20, help="warm calls of the anchor event, runtime vs bare handler (0 = skip)")
    parser.set_defaults(handler=_cmd_bench)
