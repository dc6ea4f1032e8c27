"""Payment provider faults in the sandbox, met by the real HTTP client: a timeout before the charge changes
nothing, and a charge whose answer is lost is found again by the retry (same key), never made twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments import HttpTransport, SandboxPaymentProvider
from orders.ports import AuthorizationStatus, PaymentTimeout
from payment_sandbox import PaymentSandbox
from payment_sandbox.server import RESPONSE_LOST, TIMEOUT_BEFORE_CHARGE

TIMEOUT_MS = 200


@pytest.fixture
def sandbox() -> Iterator[PaymentSandbox]:
    with PaymentSandbox(hang_cap_s=1.0) as running:
        yield running


def _first_n(kind: str, n: int, operation: str):  # type: ignore[no-untyped-def]
    """A decider hitting the first `n` calls of `operation` with `kind`."""
    seen = {"calls": 0}

    def decide(op: str) -> str | None:
        if op != operation:
            return None
        seen["calls"] += 1
        return kind if seen["calls"] <= n else None

    return decide


def _authorize(client: SandboxPaymentProvider, ref: str):  # type: ignore[no-untyped-def]
    return client.authorize(idempotency_key=f"{ref}:authorize", reference=ref, amount_cents=1000, currency="EUR", token="tok_visa")


def test_a_timeout_before_the_charge_is_retried_and_charges_once(sandbox: PaymentSandbox) -> None:
    sandbox.set_faults(_first_n(TIMEOUT_BEFORE_CHARGE, 1, "authorize"))
    client = SandboxPaymentProvider(HttpTransport(sandbox.url, timeout_ms=TIMEOUT_MS), attempts=2)
    auth = _authorize(client, "o-before")
    assert auth.status is AuthorizationStatus.AUTHORIZED
    assert [e["operation"] for e in sandbox.ledger()] == ["authorize"]


def test_every_attempt_timing_out_before_the_charge_leaves_nothing_behind(sandbox: PaymentSandbox) -> None:
    sandbox.set_faults(_first_n(TIMEOUT_BEFORE_CHARGE, 2, "authorize"))
    client = SandboxPaymentProvider(HttpTransport(sandbox.url, timeout_ms=TIMEOUT_MS), attempts=2)
    with pytest.raises(PaymentTimeout):
        _authorize(client, "o-none")
    assert sandbox.ledger() == [] and client.authorizations("o-none") == []


def test_a_lost_answer_after_the_capture_is_recovered_by_the_same_key(sandbox: PaymentSandbox) -> None:
    client = SandboxPaymentProvider(HttpTransport(sandbox.url, timeout_ms=TIMEOUT_MS), attempts=2)
    auth = _authorize(client, "o-lost")
    sandbox.set_faults(_first_n(RESPONSE_LOST, 1, "capture"))
    captured = client.capture(auth.id, 1000, idempotency_key="o-lost:capture")
    assert captured.status is AuthorizationStatus.CAPTURED
    assert [e["operation"] for e in sandbox.ledger()] == ["authorize", "capture"], "the retry must replay, not capture again"


def test_a_lost_answer_on_every_attempt_is_a_timeout_but_the_charge_is_on_the_ledger(sandbox: PaymentSandbox) -> None:
    sandbox.set_faults(_first_n(RESPONSE_LOST, 2, "authorize"))
    client = SandboxPaymentProvider(HttpTransport(sandbox.url, timeout_ms=TIMEOUT_MS), attempts=2)
    with pytest.raises(PaymentTimeout):
        _authorize(client, "o-unknown")
    sandbox.set_faults(None)
    found = client.authorizations("o-unknown")
    assert [a.status for a in found] == [AuthorizationStatus.AUTHORIZED], "what the saga's undo must find and void"
