"""The checkout's timeout budget: the slowest payment provider still fits the function's Timeout.

Worst case for one record of a batch: the authorize times out on every attempt, then the
compensation's lookup answers on its last attempt and the void times out on every attempt.
A batch runs its records one after another, so

    BatchSize x (authorize + lookup + void) x PAYMENT_ATTEMPTS x PaymentTimeoutMs (+ back-offs)

must stay below the checkout's Timeout with room for its DynamoDB calls. Every value is read from
template.yaml (and samconfig.toml's environments): changing one of them without the others fails here.
A function that overruns is killed mid-saga and its whole batch comes back after the visibility timeout.
"""

from __future__ import annotations

import copy
import shlex
import tomllib
from typing import Any

import pytest

from adapters.payments import DEFAULT_BACKOFF_S

from . import stack

CALLS_PER_RECORD = 3  # authorize, lookup, void
HEADROOM_S = 5.0  # the saga's own DynamoDB reads and conditional writes, the idempotency record


def budget_s(document: dict[str, Any], payment_timeout_ms: int) -> float:
    checkout = document["Resources"]["CheckoutFunction"]["Properties"]
    attempts = int(checkout["Environment"]["Variables"]["PAYMENT_ATTEMPTS"])
    batch = int(checkout["Events"]["CheckoutQueue"]["Properties"]["BatchSize"])
    per_call = attempts * payment_timeout_ms / 1000 + sum(DEFAULT_BACKOFF_S * a for a in range(1, attempts))
    return batch * CALLS_PER_RECORD * per_call


def payment_timeouts(document: dict[str, Any]) -> dict[str, int]:
    """Every PaymentTimeoutMs a deploy can use: the default, the largest allowed, each environment's."""
    parameter = document["Parameters"]["PaymentTimeoutMs"]
    values = {"default": int(parameter["Default"]), "MaxValue": int(parameter["MaxValue"])}
    config = tomllib.loads((stack.ROOT / "samconfig.toml").read_text())
    for env in ("dev", "staging", "prod"):
        overrides = dict(p.split("=", 1) for p in shlex.split(config[env]["deploy"]["parameters"]["parameter_overrides"]))
        values[env] = int(overrides.get("PaymentTimeoutMs", parameter["Default"]))
    return values


def fits(document: dict[str, Any], payment_timeout_ms: int) -> bool:
    timeout_s = float(document["Resources"]["CheckoutFunction"]["Properties"]["Timeout"])
    return budget_s(document, payment_timeout_ms) + HEADROOM_S <= timeout_s


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return stack.load()


def test_every_payment_timeout_fits_the_checkout_timeout(document: dict[str, Any]) -> None:
    timeout_s = document["Resources"]["CheckoutFunction"]["Properties"]["Timeout"]
    for where, value in payment_timeouts(document).items():
        assert fits(document, value), f"{where}: PaymentTimeoutMs={value} needs {budget_s(document, value):.1f} s + {HEADROOM_S} s > Timeout {timeout_s} s"


def test_the_queue_hides_a_message_for_six_checkout_timeouts(document: dict[str, Any]) -> None:
    """AWS: set the source queue's visibility timeout to at least six times the function's timeout.
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"""
    timeout_s = document["Resources"]["CheckoutFunction"]["Properties"]["Timeout"]
    assert document["Resources"]["CheckoutQueue"]["Properties"]["VisibilityTimeout"] >= 6 * timeout_s


def test_the_budget_catches_the_old_batch_of_five(document: dict[str, Any]) -> None:
    """Issue 10's finding: 2 attempts x 3 s, then the same for the lookup, in a batch of 5, against 30 s."""
    old = copy.deepcopy(document)
    checkout = old["Resources"]["CheckoutFunction"]["Properties"]
    checkout["Timeout"] = 30
    checkout["Events"]["CheckoutQueue"]["Properties"]["BatchSize"] = 5
    assert not fits(old, 3000)
