"""The import handler with AWS-shaped S3-notification-in-SQS events against moto's in-process AWS."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from adapters.catalog import DynamoCatalog
from orders.models import Product
from support.events import sqs_batch
from support.lambda_context import REGION
from support.lambda_context import LambdaContext as Context
from support.lambda_context import lambda_environment

BUCKET = "import-bucket"
CATALOG_TABLE = "catalog-table"
ORDERS_TABLE = "orders-table"


def s3_created(key: str) -> str:
    """S3's notification for a put, as S3 sends it to SQS (keys URL-encoded, spaces as '+')."""
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": REGION,
                    "eventTime": "2025-03-04T10:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "imports",
                        "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                        "object": {"key": key.replace(" ", "+"), "size": 1, "eTag": "x", "sequencer": "0A"},
                    },
                }
            ]
        }
    )


def order_line(customer: str, sku: str = "SKU-MUG", quantity: int = 1) -> str:
    return json.dumps(
        {
            "customer_id": customer,
            "items": [{"sku": sku, "quantity": quantity}],
            "payment_token": "tok_visa",
            "shipping_address": {"name": "Ada", "line1": "1 Loop St", "city": "Lyon", "postal_code": "69001", "country": "FR"},
        }
    )


@pytest.fixture
def importer(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name, value in lambda_environment("orderflow-import", CATALOG_TABLE=CATALOG_TABLE, ORDERS_TABLE=ORDERS_TABLE).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        ddb = boto3.client("dynamodb", region_name=REGION)
        for table, key in ((CATALOG_TABLE, "sku"), (ORDERS_TABLE, "order_id")):
            ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        DynamoCatalog(ddb, CATALOG_TABLE).put(Product(sku="SKU-MUG", name="Mug", price_cents=1250, currency="EUR", stock=1000))
        sys.modules.pop("handlers.importer", None)
        yield importlib.import_module("handlers.importer")


def upload(key: str, lines: list[str]) -> None:
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())


def orders() -> list[dict[str, Any]]:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=ORDERS_TABLE)["Items"]


def report(key: str) -> dict[str, Any]:
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=f"reports/{key}.errors.json")["Body"].read()
    return json.loads(body)


def test_good_lines_become_pending_orders_bad_lines_are_reported_and_a_reupload_adds_nothing(importer: ModuleType) -> None:
    key = "imports/march batch.jsonl"
    lines = [order_line(f"cust-{i}") for i in range(10)]
    lines[2] = "{not json"
    lines[5] = order_line("cust-5", quantity=0)
    lines[8] = order_line("cust-8", sku="SKU-NOPE")
    upload(key, lines)

    response = importer.lambda_handler(sqs_batch(s3_created(key)), Context())

    assert response == {"batchItemFailures": []}
    placed = orders()
    assert len(placed) == 7
    assert {o["status"]["S"] for o in placed} == {"PENDING"}
    assert sorted(o["customer_id"]["S"] for o in placed) == sorted(f"cust-{i}" for i in (0, 1, 3, 4, 6, 7, 9))
    assert all(o["total_cents"]["N"] == "1250" for o in placed)
    doc = report(key)
    assert (doc["lines"], doc["accepted"], doc["rejected"]) == (10, 7, 3)
    assert [e["line"] for e in doc["errors"]] == [3, 6, 9]
    assert "malformed JSON" in doc["errors"][0]["reason"]
    assert "items.0.quantity" in doc["errors"][1]["reason"]
    assert "SKU-NOPE" in doc["errors"][2]["reason"]

    upload(key, lines)
    assert importer.lambda_handler(sqs_batch(s3_created(key)), Context()) == {"batchItemFailures": []}
    assert sorted(o["order_id"]["S"] for o in orders()) == sorted(o["order_id"]["S"] for o in placed)
    assert report(key) == doc


def test_the_same_line_in_another_file_is_another_order(importer: ModuleType) -> None:
    upload("imports/a.jsonl", [order_line("cust-1")])
    upload("imports/b.jsonl", [order_line("cust-1")])
    importer.lambda_handler(sqs_batch(s3_created("imports/a.jsonl"), s3_created("imports/b.jsonl")), Context())
    assert len(orders()) == 2


def test_s3_test_event_is_acknowledged_and_does_nothing(importer: ModuleType) -> None:
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2025-03-04T10:00:00.000Z", "Bucket": BUCKET})
    assert importer.lambda_handler(sqs_batch(test_event), Context()) == {"batchItemFailures": []}
    assert orders() == []
    assert boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_missing_object_fails_the_record_for_retry(importer: ModuleType) -> None:
    upload("imports/ok.jsonl", [order_line("cust-1")])
    response = importer.lambda_handler(sqs_batch(s3_created("imports/gone.jsonl"), s3_created("imports/ok.jsonl")), Context())
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert len(orders()) == 1
