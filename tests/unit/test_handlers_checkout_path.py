"""The API, relay and checkout handlers invoked directly with AWS-shaped events, on moto's mock."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from adapters.dynamo_items import order_to_item
from orders import state
from orders.events import EventEnvelope
from orders.models import OrderStatus
from orders.outbox import event_for
from orders.service import order_id_for
from ordertools.seed import seed
from payment_sandbox import PaymentSandbox
from support.lambda_context import LambdaContext as Context

from .conftest import order_request

TABLES = {"CATALOG_TABLE": ("catalog", "sku"), "ORDERS_TABLE": ("orders", "order_id"), "RESERVATIONS_TABLE": ("reservations", "order_id"), "IDEMPOTENCY_TABLE": ("idempotency", "id"), "SHIPMENTS_TABLE": ("shipments", "order_id")}


class Stack:
    def __init__(self, payments_url: str) -> None:
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        for name, key in TABLES.values():
            self.ddb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        seed(self.ddb, "catalog", [{"sku": "MUG-1", "name": "Mug", "price_cents": 1250, "stock": 10}, {"sku": "TEE-1", "name": "Tee", "price_cents": 2000, "stock": 3}])
        sns = boto3.client("sns", region_name="us-east-1")
        self.topic = sns.create_topic(Name="events")["TopicArn"]
        self.tap = self.sqs.create_queue(QueueName="tap")["QueueUrl"]
        tap_arn = self.sqs.get_queue_attributes(QueueUrl=self.tap, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=tap_arn, Attributes={"RawMessageDelivery": "true"})
        self.payments_url = payments_url

    def env(self) -> dict[str, str]:
        return {
            **{var: name for var, (name, _) in TABLES.items()},
            "ORDER_EVENTS_TOPIC_ARN": self.topic,
            "PAYMENT_PROVIDER": "http",
            "PAYMENT_PROVIDER_URL": self.payments_url,
            "PAYMENT_TIMEOUT_MS": "500",
            "POWERTOOLS_SERVICE_NAME": "orderflow",
            "POWERTOOLS_METRICS_NAMESPACE": "Orderflow",
        }

    def published(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.tap, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get("Messages", [])
        return [{"body": json.loads(m["Body"]), "event_type": m["MessageAttributes"]["event_type"]["StringValue"]} for m in messages]

    def order_item(self, order_id: str) -> dict[str, Any] | None:
        return self.ddb.get_item(TableName="orders", Key={"order_id": {"S": order_id}}).get("Item")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[PaymentSandbox]:
    with PaymentSandbox(hang_cap_s=1.0) as running:
        yield running


@pytest.fixture
def stack(sandbox: PaymentSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        created = Stack(sandbox.url)
        for key, value in created.env().items():
            monkeypatch.setenv(key, value)
        yield created


def _handler(name: str) -> ModuleType:
    sys.modules.pop(f"handlers.{name}", None)
    return importlib.import_module(f"handlers.{name}")


def _http(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "api-req-1",
            "routeKey": "$default",
            "stage": "$default",
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def _stream_record(event_name: str, new: Any, old: Any = None, seq: str = "1") -> dict[str, Any]:
    images: dict[str, Any] = {"NewImage": order_to_item(new), "SequenceNumber": seq}
    if old is not None:
        images["OldImage"] = order_to_item(old)
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": images}


def test_api_places_once_per_key_and_refuses_bad_input(stack: Stack) -> None:
    api = _handler("api")
    body = order_request().model_dump(mode="json")
    first = api.lambda_handler(_http("POST", "/orders", body, {"idempotency-key": "k-1", "x-correlation-id": "corr-7"}), Context())
    again = api.lambda_handler(_http("POST", "/orders", body, {"idempotency-key": "k-1"}), Context())
    other = api.lambda_handler(_http("POST", "/orders", {**body, "payment_token": "tok_mastercard"}, {"idempotency-key": "k-1"}), Context())
    unknown = api.lambda_handler(_http("POST", "/orders", {**body, "items": [{"sku": "NOPE", "quantity": 1}]}, {"idempotency-key": "k-2"}), Context())

    assert (first["statusCode"], again["statusCode"], other["statusCode"], unknown["statusCode"]) == (202, 202, 409, 422)
    assert json.loads(first["body"]) == json.loads(again["body"]) == {"order_id": order_id_for("k-1"), "status": "PENDING"}
    assert "NOPE" in json.loads(unknown["body"])["message"]
    assert (json.loads(other["body"])["code"], json.loads(unknown["body"])["code"]) == ("IDEMPOTENCY_KEY_REUSED", "INVALID_CART")
    assert stack.ddb.scan(TableName="orders")["Count"] == 1
    stored = stack.order_item(order_id_for("k-1"))
    assert stored is not None and stored["correlation_id"]["S"] == "corr-7" and stored["total_cents"]["N"] == "4500"

    found = api.lambda_handler(_http("GET", f"/orders/{order_id_for('k-1')}"), Context())
    assert found["statusCode"] == 200 and [h["step"] for h in json.loads(found["body"])["history"]] == ["PLACED"]
    missing = api.lambda_handler(_http("GET", "/orders/nope"), Context())
    assert (missing["statusCode"], json.loads(missing["body"])["code"]) == (404, "NOT_FOUND")
    products = json.loads(api.lambda_handler(_http("GET", "/products"), Context())["body"])
    assert [(p["sku"], p["price"], p["stock"]) for p in products] == [("MUG-1", 12.5, 10), ("TEE-1", 20.0, 3)]


def test_api_answers_a_body_it_cannot_read_with_a_400_and_writes_nothing(stack: Stack) -> None:
    """Found by API fuzzing (docs/reliability.md): powertools raised on these, a 500."""
    api = _handler("api")
    not_utf8 = {**_http("POST", "/orders", base64.b64encode(b'{"customer_id": "\xff"}').decode(), {"idempotency-key": "k-8"}), "isBase64Encoded": True}
    no_boundary = _http("POST", "/orders", "--x--", {"idempotency-key": "k-9", "content-type": "multipart/form-data"})
    answers = [api.lambda_handler(event, Context()) for event in (not_utf8, no_boundary)]
    assert [(a["statusCode"], json.loads(a["body"])["code"]) for a in answers] == [(400, "INVALID_JSON"), (400, "INVALID_BODY")]
    assert stack.ddb.scan(TableName="orders")["Count"] == 0


def test_relay_publishes_transitions_only_and_reports_the_first_failure(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    relay = _handler("relay")
    api = _handler("api")
    api.lambda_handler(_http("POST", "/orders", order_request().model_dump(mode="json"), {"idempotency-key": "k-r"}), Context())
    placed = api.orders.get(order_id_for("k-r"))
    step = state.record(placed, step="PAYMENT_AUTHORIZED", at=placed.updated_at)
    confirmed = state.advance(step, OrderStatus.CONFIRMED, step="CONFIRMED", at=placed.updated_at)

    result = relay.lambda_handler(
        {"Records": [_stream_record("INSERT", placed, seq="1"), _stream_record("MODIFY", step, placed, "2"), _stream_record("MODIFY", confirmed, step, "3")]},
        Context(),
    )
    assert result == {"batchItemFailures": []}
    published = stack.published()
    assert [p["event_type"] for p in published] == ["OrderPlaced", "OrderConfirmed"]
    assert EventEnvelope.model_validate(published[1]["body"]) == event_for(step, confirmed)

    monkeypatch.setattr(relay.publisher, "_topic_arn", "arn:aws:sns:us-east-1:123456789012:missing")
    failed = relay.lambda_handler({"Records": [_stream_record("MODIFY", step, placed, "7"), _stream_record("INSERT", placed, seq="8")]}, Context())
    assert failed == {"batchItemFailures": [{"itemIdentifier": "8"}]}


def test_checkout_runs_the_saga_once_per_event_and_fails_future_schemas(stack: Stack, sandbox: PaymentSandbox) -> None:
    api = _handler("api")
    checkout = _handler("checkout")
    api.lambda_handler(_http("POST", "/orders", order_request().model_dump(mode="json"), {"idempotency-key": "k-c"}), Context())
    order_id = order_id_for("k-c")
    envelope = event_for(None, api.orders.get(order_id))
    assert envelope is not None
    record = {"messageId": "m-1", "body": envelope.model_dump_json(), "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}
    future = {**record, "messageId": "m-2", "body": json.dumps({**json.loads(envelope.model_dump_json()), "event_id": "e-2", "schema_version": 2})}

    result = checkout.lambda_handler({"Records": [record, future]}, Context())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert stack.order_item(order_id)["status"]["S"] == "CONFIRMED"
    ops = [e["operation"] for e in sandbox.ledger() if e["reference"] == order_id]
    assert ops == ["authorize", "capture"]

    assert checkout.lambda_handler({"Records": [record]}, Context()) == {"batchItemFailures": []}  # delivered again
    assert [e["operation"] for e in sandbox.ledger() if e["reference"] == order_id] == ops
    stock = {i["sku"]["S"]: int(i["stock"]["N"]) for i in stack.ddb.scan(TableName="catalog")["Items"]}
    assert stock == {"MUG-1": 8, "TEE-1": 2}


def _as(event: dict[str, Any], user_arn: str) -> dict[str, Any]:
    """The event as an HTTP API with AWS_IAM authorization sends it (requestContext.authorizer.iam)."""
    event["requestContext"]["authorizer"] = {"iam": {"userArn": user_arn, "accountId": "123456789012"}}
    return event


def test_with_iam_auth_the_order_is_the_signing_identitys(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_AUTH", "IAM")
    api = _handler("api")
    alice, bob = "arn:aws:sts::123456789012:assumed-role/shop/alice", "arn:aws:sts::123456789012:assumed-role/shop/bob"
    body = {**order_request().model_dump(mode="json"), "customer_id": "bob"}
    placed = api.lambda_handler(_as(_http("POST", "/orders", body, {"idempotency-key": "k-iam"}), alice), Context())
    assert placed["statusCode"] == 202, placed
    path = f"/orders/{order_id_for('k-iam')}"
    mine = api.lambda_handler(_as(_http("GET", path), alice), Context())
    assert mine["statusCode"] == 200 and json.loads(mine["body"])["customer_id"] == alice
    assert api.lambda_handler(_as(_http("GET", path), bob), Context())["statusCode"] == 404
    assert api.lambda_handler(_as(_http("POST", path + "/cancel"), bob), Context())["statusCode"] == 404
    assert api.lambda_handler(_http("GET", path), Context())["statusCode"] == 401, "no principal: never anyone's order"
