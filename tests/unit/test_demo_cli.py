"""`orderflow demo` plugs into the CLI's extension seam and checks each journey against its expectation."""

from __future__ import annotations

from localcloud.cli import build_parser
from ordertools.demo import SCENARIOS, Journey, _cmd_demo


def test_demo_registers_with_the_cli() -> None:
    args = build_parser(("ordertools.demo",)).parse_args(["demo", "--timeout", "5", "--parameter-overrides", "CheckoutConcurrency=2"])
    assert args.handler is _cmd_demo
    assert (args.timeout, args.parameter_overrides, args.stack_name) == (5.0, ["CheckoutConcurrency=2"], "orderflow-demo")


def test_demo_covers_the_required_journeys() -> None:
    names = {s.name for s in SCENARIOS}
    assert {"happy", "declined", "out of stock", "duplicate", "cancelled"} <= names
    assert Journey(SCENARIOS[0]).ok and not Journey(SCENARIOS[0], problems=["ended REJECTED"]).ok
