"""Runs one events/ file through its function and checks the outcome its `.expected.json` declares.

The stack is template.yaml deployed on embedded moto with the sidecars of infra/localcloud.toml
(the payment sandbox), exactly as `LocalCloud` deploys it, and invoked through the same
`Runtime.invoke` that `orderflow invoke` uses. One difference, on purpose: the runtime's event
sources are never started. A case is then the only thing that runs: a seeded order is not
checked out behind the test's back, an event the relay publishes waits in its queues, and the
state after an invocation is that invocation's doing alone.

Expected-file format (docs/events.md): `given` (catalog, orders, items, objects, invoked), then one of
`statusCode` + `body`/`body_contains` (HTTP), `batchItemFailures` + `why` (SQS/stream batches),
`errorType` + `why` (the invocation fails), and optionally `then` (orders, stock, payments,
items, objects, published, orders_of_customer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from localcloud.cloud import CloudConfig, Sidecar, load_sidecar
from localcloud.deploy import deploy
from localcloud.emulator import EmbeddedMoto, Endpoints
from localcloud.model import DeployedStack
from localcloud.runtime import Runtime
from localcloud.runtime.results import InvokeResult
from ordertools import eventfiles
from ordertools.eventgen.shapes import to_attribute_values
from ordertools.seed import seed

from .matching import exact_differences, subset_differences

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
EXPECTED_SUFFIX = ".expected.json"
# The stack name the event files' ARNs and bucket names are written for (shapes.STACK).
STACK_NAME = "orderflow"
PAYMENT_TIMEOUT_MS = "1000"
_MAX_TAP_ROUNDS = 50

_deserializer = TypeDeserializer()


def expected_path(event_path: Path) -> Path:
    return event_path.with_name(event_path.name.removesuffix(".json") + EXPECTED_SUFFIX)


@dataclass(frozen=True)
class CorpusCase:
    path: Path
    function: str
    event: Any
    expected: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.relative_to(EVENTS).as_posix()


def load_case(path: Path) -> CorpusCase:
    """The event, its function (the `.meta.json` sidecar, else the folder's name) and its expected outcome."""
    event_file = eventfiles.load(path, default_function=path.parent.name)
    assert event_file.function is not None
    expected_file = expected_path(path)
    assert expected_file.exists(), f"{path.relative_to(ROOT)} has no {expected_file.name}: every event file declares its outcome"
    return CorpusCase(path, event_file.function, event_file.event, json.loads(expected_file.read_text()))


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as the ints/floats the JSON files hold."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [plain(v) for v in value]
    return value


class CorpusStack:
    """template.yaml on embedded moto with its sidecars, a runtime whose event sources stay off,
    and a tap queue on the order-events topic to see what a case published."""

    def __init__(self, log_dir: Path, template: Path = ROOT / "template.yaml") -> None:
        self._log_dir = log_dir
        self._template = template
        self._moto = EmbeddedMoto()
        self._sidecars: dict[str, Sidecar] = {}
        self.endpoints: Endpoints
        self.stack: DeployedStack
        self.runtime: Runtime

    def start(self) -> CorpusStack:
        try:
            self.endpoints = self._moto.start()
            config = CloudConfig.load(ROOT / "infra" / "localcloud.toml")
            parameters = {**config.parameters, "PaymentTimeoutMs": PAYMENT_TIMEOUT_MS}
            for sidecar_config in config.sidecars:
                sidecar = load_sidecar(sidecar_config)
                parameters[sidecar_config.parameter] = sidecar.start()
                self._sidecars[sidecar_config.name] = sidecar
            self.stack = deploy(self._template, self.endpoints, stack_name=STACK_NAME, parameters=parameters)
            self.runtime = Runtime(self.stack, self.endpoints, log_dir=self._log_dir)
            self._tap_url = self._subscribe_tap()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if hasattr(self, "runtime"):
            self.runtime.stop()
        for sidecar in reversed(list(self._sidecars.values())):
            sidecar.stop()
        self._moto.stop()

    def client(self, service: str) -> Any:
        return self.endpoints.client(service)

    def physical(self, logical_id: str) -> str:
        return self.stack.physical_id(logical_id)

    def function_log(self, function: str) -> str:
        log = self._log_dir / f"{self.stack.function(function).logical_id}.log"
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    # --- running a case ----------------------------------------------------------------------------

    def invoke(self, function: str, event: Any) -> InvokeResult:
        return self.runtime.invoke(function, event)

    def run(self, case: CorpusCase) -> list[str]:
        """Given, invoke, check: every way the outcome differs from the expected file (empty = pass)."""
        self.apply_given(case.expected.get("given", {}))
        self.drain_tap()
        result = self.invoke(case.function, case.event)
        problems = response_differences(result, case.expected)
        problems += self.then_differences(case.expected.get("then", {}))
        return problems

    def apply_given(self, given: dict[str, Any]) -> None:
        dynamodb, s3 = self.client("dynamodb"), self.client("s3")
        if "catalog" in given:
            seed(dynamodb, self.physical("CatalogTable"), given["catalog"])
        for order in given.get("orders", []):
            dynamodb.put_item(TableName=self.physical("OrdersTable"), Item=to_attribute_values(order))
        for row in given.get("items", []):
            dynamodb.put_item(TableName=self.physical(row["table"]), Item=to_attribute_values(row["item"]))
        for obj in given.get("objects", []):
            s3.put_object(Bucket=self.physical(obj["bucket"]), Key=obj["key"], Body=obj["text"].encode())
        for relative in given.get("invoked", []):
            earlier = load_case(EVENTS / relative)
            result = self.invoke(earlier.function, earlier.event)
            assert result.ok, f"given: invoking {relative} failed: {result.error}"

    # --- the state after --------------------------------------------------------------------------

    def then_differences(self, then: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        for order_id, expected in then.get("orders", {}).items():
            problems += _absent_or_subset(f"order {order_id}", self.item("OrdersTable", {"order_id": order_id}), expected)
        for sku, stock in then.get("stock", {}).items():
            product = self.item("CatalogTable", {"sku": sku})
            if product is None or product["stock"] != stock:
                problems.append(f"stock of {sku}: expected {stock}, got {product and product['stock']}")
        for order_id, statuses in then.get("payments", {}).items():
            payments = self._sidecars["payments"]
            found = [a["status"] for a in payments.authorizations() if a["reference"] == order_id]  # type: ignore[attr-defined]
            if found != statuses:
                problems.append(f"payment authorizations of {order_id}: expected {statuses}, got {found}")
        for check in then.get("items", []):
            item = self.item(check["table"], check["key"])
            problems += _absent_or_subset(f"{check['table']} {check['key']}", item, None if check.get("absent") else check["item"])
        for check in then.get("objects", []):
            problems += self._object_differences(check)
        if "published" in then:
            problems += _published_differences(self.drain_tap(), then["published"])
        for customer_id, count in then.get("orders_of_customer", {}).items():
            found = self.orders_of_customer(customer_id)
            if found != count:
                problems.append(f"orders of {customer_id}: expected {count}, got {found}")
        return problems

    def item(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self.client("dynamodb").get_item(
            TableName=self.physical(table), Key=to_attribute_values(key), ConsistentRead=True
        )
        if "Item" not in response:
            return None
        return {k: plain(_deserializer.deserialize(v)) for k, v in response["Item"].items()}

    def orders_of_customer(self, customer_id: str) -> int:
        pages = self.client("dynamodb").get_paginator("scan").paginate(
            TableName=self.physical("OrdersTable"),
            FilterExpression="customer_id = :c",
            ExpressionAttributeValues={":c": {"S": customer_id}},
            Select="COUNT",
        )
        return sum(page["Count"] for page in pages)

    def _object_differences(self, check: dict[str, Any]) -> list[str]:
        label = f"s3://{check['bucket']}/{check['key']}"
        try:
            body = self.client("s3").get_object(Bucket=self.physical(check["bucket"]), Key=check["key"])["Body"].read().decode()
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchKey":
                raise
            return [] if check.get("absent") else [f"{label}: missing"]
        if check.get("absent"):
            return [f"{label}: exists, expected none"]
        problems = []
        if "text" in check and body != check["text"]:
            problems.append(f"{label}: content differs\n  expected {check['text']!r:.400}\n  got      {body!r:.400}")
        if "json" in check:
            problems += subset_differences(json.loads(body), check["json"], label)
        problems += [f"{label}: does not contain {needle!r}" for needle in check.get("contains", []) if needle not in body]
        return problems

    # --- what the topic carried ---------------------------------------------------------------------

    def _subscribe_tap(self) -> str:
        sqs = self.client("sqs")
        url: str = sqs.create_queue(QueueName="events-corpus-tap")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(
            TopicArn=self.physical("OrderEventsTopic"), Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
        )
        return url

    def drain_tap(self) -> list[dict[str, Any]]:
        """Every event published since the last drain (SNS delivers to SQS within the publish call)."""
        sqs, events = self.client("sqs"), []
        for _ in range(_MAX_TAP_ROUNDS):
            messages = sqs.receive_message(QueueUrl=self._tap_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return events
            events += [json.loads(m["Body"]) for m in messages]
            sqs.delete_message_batch(
                QueueUrl=self._tap_url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            )
        raise AssertionError(f"the tap queue kept filling for {_MAX_TAP_ROUNDS} rounds")


def response_differences(result: InvokeResult, expected: dict[str, Any]) -> list[str]:
    """The invocation's result against `statusCode`/`body`/`body_contains`, `batchItemFailures`, or `errorType`."""
    if "errorType" in expected:
        if result.error is None:
            return [f"expected the invocation to fail with {expected['errorType']}, it returned {result.payload!r:.300}"]
        got = result.error.get("errorType")
        return [] if got == expected["errorType"] else [f"errorType: expected {expected['errorType']}, got {got}: {result.error.get('errorMessage')!s:.300}"]
    if result.error is not None:
        return [f"the invocation failed: {result.error.get('errorType')}: {result.error.get('errorMessage')!s:.500}"]
    payload = result.payload
    if "statusCode" in expected:
        return _http_differences(payload, expected)
    if "batchItemFailures" in expected:
        return _batch_differences(payload, expected)
    return [f"the expected file declares no outcome (statusCode, batchItemFailures or errorType): got {payload!r:.300}"]


def _http_differences(payload: Any, expected: dict[str, Any]) -> list[str]:
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return [f"not an HTTP API response: {payload!r:.300}"]
    problems = []
    if payload["statusCode"] != expected["statusCode"]:
        problems.append(f"statusCode: expected {expected['statusCode']}, got {payload['statusCode']} ({payload.get('body')!s:.300})")
    body = json.loads(payload["body"]) if payload.get("body") else None
    if "body" in expected:
        problems += exact_differences(body, expected["body"], "body")
    if "body_contains" in expected:
        problems += subset_differences(body, expected["body_contains"], "body")
    return problems


def _batch_differences(payload: Any, expected: dict[str, Any]) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("batchItemFailures"), list):
        return [f"not a batch response: {payload!r:.300}"]
    failed = sorted(item["itemIdentifier"] for item in payload["batchItemFailures"])
    wanted = sorted(expected["batchItemFailures"])
    problems = [] if failed == wanted else [f"batchItemFailures: expected {wanted}, got {failed}"]
    unexplained = [item for item in wanted if item not in expected.get("why", {})]
    if unexplained:
        problems.append(f"the expected file gives no `why` for failing records {unexplained}")
    return problems


def _absent_or_subset(label: str, actual: dict[str, Any] | None, expected: dict[str, Any] | None) -> list[str]:
    if expected is None:
        return [] if actual is None else [f"{label}: exists, expected none"]
    if actual is None:
        return [f"{label}: missing"]
    return subset_differences(actual, expected, label)


def _published_differences(published: list[dict[str, Any]], expected: list[dict[str, Any]]) -> list[str]:
    """The same events as expected, in any order (a standard queue does not promise order)."""
    if len(published) != len(expected):
        seen = [(e.get("event_type"), (e.get("payload") or {}).get("order_id")) for e in published]
        return [f"published: expected {len(expected)} events, got {len(published)}: {seen}"]
    return [f"published: nothing matches {item!r:.300}" for item in expected if not any(not subset_differences(p, item) for p in published)]
