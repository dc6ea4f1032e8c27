"""samconfig.toml: dev, staging and prod are the same deployment with different parameters.

Every environment's overrides are checked the way CloudFormation checks them before creating
anything (declared names, AllowedValues, bounds), so a typo fails here rather than at deploy.
"""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

import pytest

from . import stack
from .policies import violations

ENVIRONMENTS = ("dev", "staging", "prod")
PER_ENVIRONMENT = {"stack_name", "parameter_overrides"}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return tomllib.loads((stack.ROOT / "samconfig.toml").read_text())


def _overrides(config: dict[str, Any], env: str) -> dict[str, str]:
    pairs = shlex.split(config[env]["deploy"]["parameters"]["parameter_overrides"])
    return dict(pair.split("=", 1) for pair in pairs)


def test_environments_differ_only_in_stack_name_and_parameters(config: dict[str, Any]) -> None:
    assert all(set(config[env]) == {"global", "deploy"} for env in ENVIRONMENTS)
    shared = [
        {
            section: {k: v for k, v in config[env][section]["parameters"].items() if k not in PER_ENVIRONMENT}
            for section in ("global", "deploy")
        }
        for env in ENVIRONMENTS
    ]
    assert shared[0] == shared[1] == shared[2]
    names = [config[env]["global"]["parameters"]["stack_name"] for env in ENVIRONMENTS]
    assert names == [f"orderflow-{env}" for env in ENVIRONMENTS]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_parameters_are_valid_and_keep_least_privilege(config: dict[str, Any], env: str) -> None:
    overrides = _overrides(config, env)
    assert overrides["Stage"] == env
    assert overrides["ApiAuth"] != "NONE", "a deployed API is authenticated"
    document = stack.load()
    translated = stack.translate(document, overrides)  # raises on an undeclared or out-of-range value
    assert violations(translated) == []
    assert stack.conditions(document, overrides).condition("IsDeployed")
    # prod's AlarmEmail is given at deploy (docs/deploy.md): without it the template's Rules refuse the deploy.
    assert stack.failed_rules(document, overrides) == (["ProdAlarmsReachSomeone"] if env == "prod" else [])
    assert stack.failed_rules(document, {**overrides, "AlarmEmail": "ops@example.com"}) == []
