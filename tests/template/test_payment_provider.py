"""The payment provider each environment gets: dev and staging hold the sandbox in the stack, prod reaches Stripe.

Checked on the translated template under each samconfig.toml environment's parameters: which
resources exist (their Condition), what the checkout is told (its variables' Fn::If) and what it
may do (one AWS::IAM::Policy per provider, each under the same condition as what it reaches).
"""

from __future__ import annotations

import functools
import shlex
import tomllib
from typing import Any

import pytest

from . import stack

document = functools.cache(stack.load)
SANDBOX = ("PaymentSandboxFunction", "PaymentLedgerTable", "PaymentSandboxFunctionRole", "PaymentSandboxLogGroup", "CheckoutPaymentSandboxPolicy")


def _environment(env: str) -> dict[str, str]:
    config = tomllib.loads((stack.ROOT / "samconfig.toml").read_text())
    return dict(p.split("=", 1) for p in shlex.split(config[env]["deploy"]["parameters"]["parameter_overrides"]))


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return stack.translate(document())


def _exists(translated: dict[str, Any], overrides: dict[str, str], logical_id: str) -> bool:
    condition = translated["Resources"][logical_id].get("Condition")
    return condition is None or bool(stack.conditions(document(), overrides).condition(condition))


def _checkout_variables(translated: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    conditions = stack.conditions(document(), overrides)
    variables = translated["Resources"]["CheckoutFunction"]["Properties"]["Environment"]["Variables"]
    chosen = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Fn::If" in value:
            condition, when_true, when_false = value["Fn::If"]
            value = when_true if conditions.condition(condition) else when_false
        if value != {"Ref": "AWS::NoValue"}:
            chosen[name] = value
    return chosen


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_dev_and_staging_hold_the_sandbox_and_the_checkout_reaches_it(translated: dict[str, Any], env: str) -> None:
    overrides = _environment(env)
    assert overrides["PaymentProvider"] == "sandbox"
    assert all(_exists(translated, overrides, r) for r in SANDBOX)
    assert not _exists(translated, overrides, "CheckoutStripeSecretPolicy")
    variables = _checkout_variables(translated, overrides)
    assert variables["PAYMENT_SANDBOX_FUNCTION"] == {"Ref": "PaymentSandboxFunction"}
    assert "STRIPE_SECRET_NAME" not in variables and "PAYMENT_PROVIDER_URL" not in variables
    policy = translated["Resources"]["CheckoutPaymentSandboxPolicy"]["Properties"]
    assert policy["Roles"] == [{"Ref": "CheckoutFunctionRole"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("lambda:InvokeFunction", {"Fn::GetAtt": ["PaymentSandboxFunction", "Arn"]})


def test_only_the_checkout_may_invoke_the_sandbox(translated: dict[str, Any]) -> None:
    """No resource-based permission opens it (no AWS::Lambda::Permission names it), and no other role grants it."""
    permissions = stack.of_type(translated, "AWS::Lambda::Permission").values()
    assert not [p for p in permissions if "PaymentSandboxFunction" in str(p.get("FunctionName"))]
    invokers = [
        logical_id
        for logical_id, resource in translated["Resources"].items()
        if resource["Type"] in ("AWS::IAM::Role", "AWS::IAM::Policy") and "PaymentSandboxFunction" in str(resource.get("Properties", {}))
        and "lambda:InvokeFunction" in str(resource.get("Properties", {}))
    ]
    assert invokers == ["CheckoutPaymentSandboxPolicy"]


def test_prod_reaches_stripe_through_its_secret_only(translated: dict[str, Any]) -> None:
    overrides = _environment("prod")
    assert overrides["PaymentProvider"] == "stripe"
    assert not any(_exists(translated, overrides, r) for r in SANDBOX)
    assert _exists(translated, overrides, "CheckoutStripeSecretPolicy")
    variables = _checkout_variables(translated, overrides)
    assert variables["STRIPE_SECRET_NAME"] == {"Ref": "StripeSecretName"}
    assert "PAYMENT_SANDBOX_FUNCTION" not in variables
    (statement,) = translated["Resources"]["CheckoutStripeSecretPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert "secret:${StripeSecretName}-??????" in statement["Resource"]["Fn::Sub"]
