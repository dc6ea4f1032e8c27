"""`orderflow check`: read the whole state of a quiet stack and name every broken invariant by order id.

    orderflow check                                   # the running `orderflow up`
    orderflow check --initial-stock infra/ordertools/catalog.json --out .orderflow/check.json
    orderflow check --stack-name orderflow-dev --payment-url https://sandbox.example

The rules are `ordertools.invariants` (pure, over a snapshot); `ordertools.state_snapshot` reads the
snapshot through boto3 and the payment provider's ledger. Prints the report as JSON; exit 1 when
anything is violated, so a chaos run, CI or an operator can gate on it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ordertools.invariants import Report, check
from ordertools.state_snapshot import read_snapshot
from ordertools.targets import TargetError, add_target_arguments, target_from_args


def load_initial_stock(path: Path) -> dict[str, int]:
    """`{sku: stock}`, or a list of products with `sku` and `stock` (the seed file's shape)."""
    try:
        data: Any = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise TargetError(f"cannot read initial stock {path}: {error}") from error
    if isinstance(data, list):
        data = {p["sku"]: p["stock"] for p in data if isinstance(p, dict) and "sku" in p and "stock" in p}
    if not isinstance(data, dict):
        raise TargetError(f"{path}: expected {{sku: stock}} or a list of products")
    return {str(sku): int(stock) for sku, stock in data.items()}


def payment_url_from_state(state_file: Path) -> str:
    try:
        return str(json.loads(state_file.read_text())["stack"]["parameters"]["PaymentProviderUrl"])
    except (OSError, ValueError, KeyError) as error:
        raise TargetError(f"no PaymentProviderUrl in {state_file}: pass --payment-url ({error})") from error


def format_report(report: Report) -> str:
    lines = [f"orders: {report.orders_by_status}", f"dead letters: {len(report.dead_lettered)}"]
    lines += [f"VIOLATION {v.rule} {v.subject}: {v.detail}" for v in report.violations]
    lines.append(f"{len(report.violations)} violation(s)")
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    payment_url = args.payment_url or payment_url_from_state(args.state_file)
    initial = load_initial_stock(args.initial_stock) if args.initial_stock else None
    report = check(read_snapshot(target, payment_url=payment_url, initial_stock=initial))
    document = json.dumps(report.to_json(), indent=1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(document)
    print(document if args.json else format_report(report))
    return 0 if report.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("check", help="check the invariants of a quiet stack; exit 1 on any violation")
    parser.add_argument("--initial-stock", type=Path, help="stock before the run ({sku: n} or the seed file); enables conservation")
    parser.add_argument("--payment-url", help="the payment provider (default: the running local cloud's PaymentProviderUrl)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")
    add_target_arguments(parser)
    parser.set_defaults(handler=_cmd_check)
