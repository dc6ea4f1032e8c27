"""The emulator targets, importable by any suite as `support.targets` (a `conftest` module cannot be
imported by name: several directories have one). tests/conftest.py turns them into the `target`
fixture, the `--target` option and the per-target summary."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests

from localcloud.cloud import DYNAMODB_VARIABLE
from localcloud.emulator import SERVICES, Endpoints, env_var_for

TARGETS = ("moto", "localstack")
LOCALSTACK_SERVICES = ("sqs", "sns", "s3")
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


def parametrize_targets(metafunc: pytest.Metafunc, fixture: str, scope: str = "module") -> None:
    """Run `metafunc`'s test on both targets through `fixture`, which reads `request.param` (a target
    name) and builds its endpoints with `resolve_target(...).over(moto)`. For suites whose shared
    fixtures also serve tests that stay on moto alone (their fixture then has no `request.param`)."""
    metafunc.parametrize(fixture, TARGET_PARAMS, indirect=True, scope=scope)  # type: ignore[arg-type]

