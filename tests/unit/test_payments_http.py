"""The sandbox payment client over HTTP against the real sidecar server: idempotency, declines, timeouts, amounts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.payments import HttpTransport, SandboxPaymentProvider
from orders.ports import AuthorizationStatus, PaymentDeclined, PaymentError, PaymentTimeout
from payment_sandbox import PaymentSandbox

TIMEOUT_MS = 200


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PaymentSandbox]:
    with PaymentSandbox(hang_cap_s=1.0) as running:
        yield running


@pytest.fixture
def client(sandbox: PaymentSandbox) -> SandboxPaymentProvider:
    return SandboxPaymentProvider(HttpTransport(sandbox.url, timeout_ms=TIMEOUT_MS), attempts=2)


def _ops(sandbox: PaymentSandbox, reference: str) -> list[tuple[str, str]]:
    return [(e["operation"], e["outcome"]) for e in sandbox.ledger() if e["reference"] == reference]


def _authorize(client: SandboxPaymentProvider, ref: str, token: str = "tok_visa", amount: int = 1000):  # type: ignore[no-untyped-def]
    return client.authorize(idempotency_key=f"{ref}:authorize", reference=ref, amount_cents=amount, currency="EUR", token=token)


def test_authorize_capture_refund_with_repeats_charging_once(sandbox: PaymentSandbox, client: SandboxPaymentProvider) -> None:
    first = _authorize(client, "o-1")
    assert _authorize(client, "o-1") == first
    captured = client.capture(first.id, 1000, idempotency_key="o-1:capture")
    client.capture(first.id, 1000, idempotency_key="o-1:capture")
    assert captured.status is AuthorizationStatus.CAPTURED
    refunded = client.refund(first.id, 1000, idempotency_key="o-1:refund")
    assert refunded.status is AuthorizationStatus.REFUNDED
    assert _ops(sandbox, "o-1") == [("authorize", "approved"), ("capture", "approved"), ("refund", "approved")]


def test_same_key_different_amount_is_refused(client: SandboxPaymentProvider) -> None:
    _authorize(client, "o-2")
    with pytest.raises(PaymentError, match="idempotency"):
        _authorize(client, "o-2", amount=999)


@pytest.mark.parametrize(("token", "code"), [("tok_declined", "card_declined"), ("tok_insufficient_funds", "insufficient_funds"), ("tok_bogus", "invalid_token")])
def test_declines_by_token(client: SandboxPaymentProvider, token: str, code: str) -> None:
    with pytest.raises(PaymentDeclined) as err:
        _authorize(client, f"o-{token}", token=token)
    assert err.value.decline_code == code


def test_amount_rules(client: SandboxPaymentProvider) -> None:
    auth = _authorize(client, "o-3", amount=500)
    with pytest.raises(PaymentError, match="invalid_amount"):
        client.capture(auth.id, 501, idempotency_key="o-3:capture")
    client.void(auth.id, idempotency_key="o-3:void")
    with pytest.raises(PaymentError, match="voided"):
        client.capture(auth.id, 500, idempotency_key="o-3:capture-after-void")


def test_timeout_retries_with_the_same_key_and_the_lookup_finds_the_authorization(sandbox: PaymentSandbox, client: SandboxPaymentProvider) -> None:
    with pytest.raises(PaymentTimeout):
        _authorize(client, "o-4", token="tok_timeout")
    found = client.authorizations("o-4")
    assert [a.status for a in found] == [AuthorizationStatus.AUTHORIZED]
    assert _ops(sandbox, "o-4") == [("authorize", "approved")]  # two attempts, one authorization


def test_slow_first_answer_is_recovered_by_the_retry(sandbox: PaymentSandbox, client: SandboxPaymentProvider) -> None:
    auth = _authorize(client, "o-5", token="tok_slow")
    assert auth.status is AuthorizationStatus.AUTHORIZED
    assert _ops(sandbox, "o-5") == [("authorize", "approved")]


def test_latency_is_observed_per_attempt(sandbox: PaymentSandbox) -> None:
    seen: list[tuple[str, float]] = []
    client = SandboxPaymentProvider(HttpTransport(sandbox.url, timeout_ms=TIMEOUT_MS), on_latency=lambda op, ms: seen.append((op, ms)))
    _authorize(client, "o-6")
    assert [op for op, _ in seen] == ["authorize"] and seen[0][1] > 0
