"""The emulator targets the integration and end-to-end suites run on, and a per-target summary.

A suite runs on both targets by having its stack fixture request `target` (session scope, two
params), so each of its tests is collected twice and its id names the target:
`test_happy_path[moto]`, `test_happy_path[localstack]`. A suite whose shared fixture also serves
tests that stay on moto opts chosen modules in with `parametrize_targets` instead.

- "moto":       embedded moto for every service.
- "localstack": SQS, SNS and S3 on LocalStack (LOCALSTACK_ENDPOINT, set by `make test`), everything
                else (DynamoDB and streams above all) on embedded moto; wired only through boto3's
                per-service endpoint variables, as a handler sees them.

Without LOCALSTACK_ENDPOINT the localstack variants are skipped, saying how to enable them, except
under CI (CI=true), where a target that did not start is a failure: CI must never go green on one
emulator believing it tested two. `--target moto` (or `localstack`) runs one target only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from support.targets import TARGET_PARAMS, TARGETS, Target, resolve_target

TESTS = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target", action="append", choices=TARGETS, default=None,
        help="run the two-target suites on this emulator target only (repeatable; default: both)",
    )



@pytest.fixture(scope="session", params=TARGET_PARAMS)
def target(request: pytest.FixtureRequest) -> Target:
    return resolve_target(request.param)



def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "target(name): the emulator target this variant runs on (set by tests/conftest.py)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("--target")
    if not chosen:
        return
    kept, deselected = [], []
    for item in items:
        (kept if _target_of(item) in (None, *chosen) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def _target_of(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("target")
    return str(mark.args[0]) if mark is not None else None


# -- per-target summary -------------------------------------------------------------------------

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")

_targets_by_nodeid: dict[str, tuple[str, str]] = {}  # nodeid -> (suite, target)
_seconds: defaultdict[tuple[str, str], float] = defaultdict(float)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:
        name = _target_of(item)
        if name is not None:
            path = Path(item.path)
            suite = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else path.parent.name
            _targets_by_nodeid[item.nodeid] = (suite, name)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    key = _targets_by_nodeid.get(report.nodeid)
    if key is not None:
        _seconds[key] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """`e2e moto: 40 passed, 1 failed (120 s)` per suite and target, before pytest's own summary line
    (CI reads the last line, which stays pytest's)."""
    counts: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for outcome in OUTCOMES:
        for report in terminalreporter.stats.get(outcome, []):
            key = _targets_by_nodeid.get(getattr(report, "nodeid", ""))
            if key is not None:
                counts[key][outcome] += 1
    if not counts:
        return
    terminalreporter.section("targets", sep="-")
    for suite, name in sorted(counts, key=lambda k: (k[0], TARGETS.index(k[1]))):
        tally = counts[(suite, name)]
        parts = ", ".join(f"{tally[o]} {o}" for o in OUTCOMES if tally[o] or o in ("passed", "failed"))
        terminalreporter.write_line(f"{suite} {name}: {parts} ({_seconds[(suite, name)]:.0f} s)")
