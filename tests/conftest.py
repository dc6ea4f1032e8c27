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

import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from localcloud.cloud import DYNAMODB_VARIABLE
from localcloud.emulator import SERVICES, Endpoints, env_var_for

TARGETS = ("moto", "localstack")
LOCALSTACK_SERVICES = ("sqs", "sns", "s3")
TESTS = Path(__file__).resolve().parent
# LocalStack outlives a session (and a developer may reuse one): names get this run's token.
RUN_TOKEN = uuid.uuid4().hex[:6]
HEALTH_TIMEOUT_S = 5


@dataclass(frozen=True)
class Target:
    """Where a suite's AWS services are: `localstack` is LocalStack's URL, or None for moto alone."""

    name: str
    localstack: str | None = None

    @property
    def per_service(self) -> dict[str, str]:
        return dict.fromkeys(LOCALSTACK_SERVICES, self.localstack) if self.localstack else {}

    def over(self, moto: Endpoints) -> Endpoints:
        """This target's endpoints, given the moto server that serves whatever LocalStack does not."""
        return Endpoints(default=moto.default, per_service=self.per_service, region=moto.region)

    @contextmanager
    def environment(self) -> Iterator[None]:
        """boto3's endpoint variables as this target needs them, so that `LocalCloud.start()` (which
        reads them and fills the rest with embedded moto) lands on this target; restored afterwards.
        Keep the block short: every boto3 client made inside it follows these variables."""
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("AWS_ENDPOINT_URL", raising=False)
            patch.delenv(DYNAMODB_VARIABLE, raising=False)  # the target alone says where DynamoDB is
            for service in SERVICES:
                patch.delenv(env_var_for(service), raising=False)
            for service, url in self.per_service.items():
                patch.setenv(env_var_for(service), url)
            yield

    def stack_name(self, base: str) -> str:
        """A stack name of its own per target and per run, so no state leaks between them."""
        return f"{base}-{self.name}-{RUN_TOKEN}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target", action="append", choices=TARGETS, default=None,
        help="run the two-target suites on this emulator target only (repeatable; default: both)",
    )


def _localstack_health(url: str) -> str | None:
    """None if LocalStack at `url` serves SQS, SNS and S3; else what is wrong."""
    try:
        services = requests.get(f"{url}/_localstack/health", timeout=HEALTH_TIMEOUT_S).json()["services"]
    except (requests.RequestException, ValueError, KeyError) as error:
        return f"no LocalStack health at {url}: {error}"
    down = {s: services.get(s) for s in LOCALSTACK_SERVICES if services.get(s) not in ("available", "running")}
    return f"LocalStack at {url} does not serve {down}" if down else None


def resolve_target(name: str) -> Target:
    """The target called `name`, or skip (fail under CI) when LocalStack was not started for it."""
    if name == "moto":
        return Target("moto")
    url = os.environ.get("LOCALSTACK_ENDPOINT", "").rstrip("/")
    if not url:
        reason = "LOCALSTACK_ENDPOINT is not set: run `make test`, or `make localstack-up` and export LOCALSTACK_ENDPOINT=$(cat .localstack/endpoint)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: the localstack target did not start ({reason})", pytrace=False)
        pytest.skip(reason)
    problem = _localstack_health(url)
    if problem:
        pytest.fail(problem, pytrace=False)
    return Target("localstack", url)


# Each variant carries a `target` mark: the summary and `--target` find a test's target by it.
TARGET_PARAMS = [pytest.param(name, id=name, marks=pytest.mark.target(name)) for name in TARGETS]


@pytest.fixture(scope="session", params=TARGET_PARAMS)
def target(request: pytest.FixtureRequest) -> Target:
    return resolve_target(request.param)


def parametrize_targets(metafunc: pytest.Metafunc, fixture: str, scope: str = "module") -> None:
    """Run `metafunc`'s test on both targets through `fixture`, which reads `request.param` (a target
    name) and builds its endpoints with `resolve_target(...).over(moto)`. For suites whose shared
    fixtures also serve tests that stay on moto alone (their fixture then has no `request.param`)."""
    metafunc.parametrize(fixture, TARGET_PARAMS, indirect=True, scope=scope)  # type: ignore[arg-type]


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
