"""The in-stack sandbox on moto's mock: its rules over the DynamoDB ledger, and the Lambda wire to it.

The same rules as the sidecar's memory store (tests/unit/test_payments_http.py): a repeated key
replays the first answer, a key reused with other parameters is refused, amounts are checked; and
a racing commit (another instance got there first) loses cleanly instead of writing twice.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from adapters.payments import LambdaTransport, SandboxPaymentProvider
from adapters.sandbox_ledger import DynamoLedgerStore
from orders.ports import AuthorizationStatus, PaymentDeclined, PaymentTimeout
from payment_ledger.ledger import Answer, Conflict, Ledger, Remembered
from payment_ledger.operations import perform

TABLE = "ledger"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb


@pytest.fixture
def ledger(client: Any) -> Ledger:
    return Ledger(DynamoLedgerStore(client, TABLE))


def _authorize(ledger: Ledger, ref: str, token: str = "tok_visa") -> Answer:
    return perform(ledger, "authorize", {"idempotency_key": f"{ref}:authorize", "amount_cents": 1000, "currency": "EUR", "token": token, "reference": ref})


def test_authorize_capture_refund_charge_once_however_often_asked(ledger: Ledger) -> None:
    first = _authorize(ledger, "o-1")
    assert first.status == 201 and _authorize(ledger, "o-1") == first
    auth_id = first.body["id"]
    for _ in range(2):
        captured = perform(ledger, "capture", {"idempotency_key": "o-1:capture", "authorization_id": auth_id, "amount_cents": 1000})
        assert (captured.status, captured.body["status"]) == (200, "captured")
    refunded = perform(ledger, "refund", {"idempotency_key": "o-1:refund", "authorization_id": auth_id, "amount_cents": 1000})
    assert refunded.body["status"] == "refunded"
    assert [(e["seq"], e["operation"]) for e in ledger.entries()] == [(1, "authorize"), (2, "capture"), (3, "refund")]
    assert ledger.replays() == 2
    (found,) = perform(ledger, "lookup", {"reference": "o-1"}).body["data"]
    assert (found["id"], found["refunded_cents"]) == (auth_id, 1000)


def test_rules_hold_a_reused_key_a_decline_and_amounts(ledger: Ledger) -> None:
    _authorize(ledger, "o-2")
    reused = perform(ledger, "authorize", {"idempotency_key": "o-2:authorize", "amount_cents": 5, "currency": "EUR", "token": "tok_visa", "reference": "o-2"})
    assert reused.status == 422
    declined = _authorize(ledger, "o-3", token="tok_insufficient_funds")
    assert (declined.status, declined.body["decline_code"]) == (402, "insufficient_funds")
    auth_id = _authorize(ledger, "o-4").body["id"]
    too_much = perform(ledger, "capture", {"idempotency_key": "o-4:capture", "authorization_id": auth_id, "amount_cents": 1001})
    assert too_much.status == 400
    assert perform(ledger, "void", {"idempotency_key": "o-4:void", "authorization_id": auth_id}).body["status"] == "voided"
    assert perform(ledger, "capture", {"idempotency_key": "o-4:capture2", "authorization_id": auth_id, "amount_cents": 1}).status == 409


def test_a_hanging_answer_hangs_again_only_for_tok_timeout(ledger: Ledger) -> None:
    assert _authorize(ledger, "o-5", token="tok_timeout").hang and _authorize(ledger, "o-5", token="tok_timeout").hang
    assert _authorize(ledger, "o-6", token="tok_slow").hang and not _authorize(ledger, "o-6", token="tok_slow").hang


def test_a_racing_commit_loses_and_writes_nothing(client: Any, ledger: Ledger) -> None:
    """Two instances read the same authorization; the second commit is refused, so a capture happens once."""
    store = DynamoLedgerStore(client, TABLE)
    auth_id = _authorize(ledger, "o-7").body["id"]
    read = store.authorization(auth_id)
    assert read is not None
    moved = perform(ledger, "void", {"idempotency_key": "o-7:void", "authorization_id": auth_id})
    assert moved.body["status"] == "voided"
    stale = type(read)(**{**read.__dict__, "status": "captured", "version": read.version + 1})
    with pytest.raises(Conflict):
        store.commit("o-7:capture", Remembered("[]", Answer(200, {})), stale, None)
    assert store.remembered("o-7:capture") is None
    assert store.authorization(auth_id).status == "voided"  # type: ignore[union-attr]


# --- the Lambda wire: SandboxPaymentProvider -> LambdaTransport -> handlers/payment_sandbox.py ---------


class Context:
    function_name = "payment-sandbox"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:payment-sandbox"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 1_000  # a hanging answer sleeps at most 1 s - 0.5 s


class HandlerAsLambda:
    """boto3's lambda.invoke, answered by the handler in this process (as the runtime's Invoke API would)."""

    def __init__(self, fail: bool = False) -> None:
        sys.modules.pop("handlers.payment_sandbox", None)
        self.handler = importlib.import_module("handlers.payment_sandbox")
        self.fail = fail
        self.calls = 0

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.calls += 1
        if self.fail:
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage": "boom"}')}
        answer = self.handler.lambda_handler(json.loads(Payload), Context())
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture
def in_stack(client: Any, monkeypatch: pytest.MonkeyPatch) -> HandlerAsLambda:
    monkeypatch.setenv("PAYMENT_LEDGER_TABLE", TABLE)
    return HandlerAsLambda()


def _provider(lam: HandlerAsLambda) -> SandboxPaymentProvider:
    return SandboxPaymentProvider(LambdaTransport("payment-sandbox", timeout_ms=200, client=lam), attempts=2)


def test_the_provider_over_lambda_invoke(in_stack: HandlerAsLambda) -> None:
    provider = _provider(in_stack)
    auth = provider.authorize(idempotency_key="o-8:authorize", reference="o-8", amount_cents=700, currency="EUR", token="tok_visa")
    assert provider.capture(auth.id, 700, idempotency_key="o-8:capture").status is AuthorizationStatus.CAPTURED
    assert [a.id for a in provider.authorizations("o-8")] == [auth.id]
    with pytest.raises(PaymentDeclined, match="card_declined"):
        provider.authorize(idempotency_key="o-9:authorize", reference="o-9", amount_cents=700, currency="EUR", token="tok_declined")
    assert in_stack.handler.lambda_handler("not an object", Context()) == {
        "status": 400, "body": {"error": {"type": "invalid_request", "message": "the event must be a JSON object"}}
    }


def test_a_function_error_is_retried_then_a_timeout(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_LEDGER_TABLE", TABLE)
    failing = HandlerAsLambda(fail=True)
    with pytest.raises(PaymentTimeout):
        _provider(failing).authorize(idempotency_key="o-10:authorize", reference="o-10", amount_cents=1, currency="EUR", token="tok_visa")
    assert failing.calls == 2
