"""The DynamoDB adapters against moto's in-process mock: conditions and transactions really hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from adapters.catalog import DynamoCatalog
from adapters.inventory import DynamoInventory
from adapters.order_repository import DynamoOrderRepository
from adapters.publisher import SnsEventPublisher
from orders import state
from orders.models import Order, OrderStatus
from orders.outbox import event_for
from orders.ports import OutOfStock, StaleOrder
from orders.service import place_order

from .conftest import PRODUCTS, order_request

AT = datetime(2030, 1, 2, tzinfo=UTC)


class Aws:
    def __init__(self) -> None:
        self.ddb = boto3.client("dynamodb", region_name="us-east-1")
        for table, key in (("catalog", "sku"), ("orders", "order_id"), ("reservations", "order_id")):
            self.ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        self.catalog = DynamoCatalog(self.ddb, "catalog")
        for product in PRODUCTS:
            self.catalog.put(product)
        self.orders = DynamoOrderRepository(self.ddb, "orders")
        self.inventory = DynamoInventory(self.ddb, catalog_table="catalog", reservations_table="reservations")

    def place(self, key: str = "k", **request_args) -> Order:  # type: ignore[no-untyped-def]
        return place_order(order_request(**request_args), idempotency_key=key, catalog=self.catalog, orders=self.orders, correlation_id="c", now=AT)

    def stock(self, sku: str) -> int:
        return self.catalog.products([sku])[sku].stock


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        yield Aws()


def test_orders_round_trip_and_create_is_conditional(aws: Aws) -> None:
    order = aws.place()
    assert aws.orders.get(order.order_id) == order
    assert aws.orders.create(order) is False
    assert aws.orders.get("missing") is None


def test_save_is_conditional_on_status_and_version_and_appends_history(aws: Aws) -> None:
    order = aws.place()
    step = state.record(order, step="PAYMENT_AUTHORIZED", at=AT)
    aws.orders.save(order, step)
    with pytest.raises(StaleOrder):
        aws.orders.save(order, state.advance(order, OrderStatus.CONFIRMED, step="CONFIRMED", at=AT))  # stale version
    stored = aws.orders.get(order.order_id)
    assert stored == step
    assert [h.step for h in stored.history] == ["PLACED", "PAYMENT_AUTHORIZED"]


def test_catalog_reads_known_skus_only(aws: Aws) -> None:
    found = aws.catalog.products(["MUG-1", "NOPE"])
    assert list(found) == ["MUG-1"] and found["MUG-1"].price_cents == 1250
    assert [p.sku for p in aws.catalog.all_products()] == sorted(p.sku for p in PRODUCTS)


def test_reserve_takes_every_line_at_once_and_only_once(aws: Aws) -> None:
    order = aws.place()
    assert aws.inventory.reserve(order) is True
    assert (aws.stock("MUG-1"), aws.stock("TEE-1")) == (8, 2)
    assert aws.inventory.reserve(order) is False  # a replay finds it done
    assert (aws.stock("MUG-1"), aws.stock("TEE-1")) == (8, 2)


def test_reserve_is_all_or_nothing_and_names_short_skus(aws: Aws) -> None:
    order = aws.place(items=[{"sku": "MUG-1", "quantity": 1}, {"sku": "TEE-1", "quantity": 4}])
    with pytest.raises(OutOfStock) as err:
        aws.inventory.reserve(order)
    assert err.value.skus == ("TEE-1",)
    assert (aws.stock("MUG-1"), aws.stock("TEE-1")) == (10, 3)  # the MUG line was not taken either
    assert aws.ddb.scan(TableName="reservations")["Count"] == 0


def test_release_gives_back_once(aws: Aws) -> None:
    order = aws.place()
    aws.inventory.reserve(order)
    assert aws.inventory.release(order.order_id) is True
    assert aws.inventory.release(order.order_id) is False
    assert (aws.stock("MUG-1"), aws.stock("TEE-1")) == (10, 3)


def test_publisher_sends_the_envelope_with_its_filter_attribute(aws: Aws) -> None:
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"event_type": ["OrderPlaced"]}')

    envelope = event_for(None, aws.place())
    assert envelope is not None
    SnsEventPublisher(sns, topic).publish_all([envelope])  # through PublishBatch, filter attributes and all
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [type(envelope).model_validate_json(m["Body"]) for m in messages] == [envelope]
