"""DynamoShipments against moto: it reads the rows the shipping consumer writes."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from adapters.shipments import DynamoShipments
from orders.models import Shipment, ShipmentStatus


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="shipments",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def test_reads_the_consumers_row_and_nothing_when_absent(ddb) -> None:  # type: ignore[no-untyped-def]
    ddb.put_item(
        TableName="shipments",
        Item={
            "order_id": {"S": "o-1"},
            "shipment_id": {"S": "s-1"},
            "status": {"S": "READY_TO_SHIP"},
            "lines": {"L": [{"M": {"sku": {"S": "MUG-1"}, "quantity": {"N": "2"}}}]},
            "created_at": {"S": "2030-01-02T00:00:00.000Z"},
        },
    )
    shipments = DynamoShipments(ddb, "shipments")

    assert shipments.get("o-1") == Shipment(order_id="o-1", shipment_id="s-1", status=ShipmentStatus.READY_TO_SHIP)
    assert shipments.get("o-2") is None
