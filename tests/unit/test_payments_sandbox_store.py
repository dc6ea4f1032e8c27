"""The sandbox's rules over its DynamoDB ledger (the in-stack PaymentSandboxFunction's store), on moto's mock.

The same rules as the sidecar's memory store (tests/unit/test_payments_http.py): a repeated key
replays the first answer, a key reused with other parameters is refused, amounts are checked; and
a racing commit (another instance got there first) loses cleanly instead of writing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from adapters.sandbox_ledger import DynamoLedgerStore
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
