"""The embedded emulators: a moto server (or DynamoDB Local) of its own per instance, never outliving its owner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from localcloud.deploy import deploy
from localcloud.emulator import DynamoDBLocal, EmbeddedMoto, Endpoints
from localcloud.moto_process import EVERY_TABLE, TableLocks, tables_written

ROOT = Path(__file__).resolve().parents[2]


def answers(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return False
    return True


def wait_until_silent(url: str, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not answers(url):
            return True
        time.sleep(0.1)
    return False


def test_two_instances_in_one_process_share_nothing() -> None:
    with EmbeddedMoto() as first, EmbeddedMoto() as second:
        first.client("sqs").create_queue(QueueName="only-in-the-first")
        first.client("dynamodb").create_table(
            TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )
        assert first.default != second.default
        assert second.client("sqs").list_queues().get("QueueUrls", []) == []
        assert second.client("dynamodb").list_tables()["TableNames"] == []
        assert first.client("dynamodb").list_tables()["TableNames"] == ["orders"]


def test_stop_ends_the_server() -> None:
    moto = EmbeddedMoto()
    url = moto.start().default
    assert url is not None and answers(url)
    moto.stop()
    assert not answers(url)
    moto.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = moto.url


class Owner:
    """A process that starts an EmbeddedMoto and idles, in a process group of its own."""

    def __init__(self) -> None:
        script = (
            "import signal, time\n"
            "from localcloud.emulator import EmbeddedMoto\n"
            # An owner such as `orderflow up` handles Ctrl-C itself (a handler, unlike SIG_IGN, is not inherited).
            "signal.signal(signal.SIGINT, lambda *_: None)\n"
            "print(EmbeddedMoto().start().default, flush=True)\n"
            "time.sleep(120)\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "infra")},
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def __enter__(self) -> Owner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.kill()
        self.process.wait()


def test_the_server_ends_with_its_owner_even_when_the_owner_is_killed() -> None:
    with Owner() as owner:
        assert owner.url.startswith("http://127.0.0.1:") and answers(owner.url)
        owner.process.send_signal(signal.SIGKILL)
        owner.process.wait(10)
        assert wait_until_silent(owner.url), f"moto at {owner.url} outlived the process that started it"


def test_ctrl_c_to_the_process_group_leaves_the_server_to_its_owner() -> None:
    """A terminal's Ctrl-C reaches every process of the group: the emulator must go only when its owner says."""
    with Owner() as owner:
        assert answers(owner.url)
        os.killpg(owner.process.pid, signal.SIGINT)
        time.sleep(1)
        assert owner.process.poll() is None and answers(owner.url)


def test_concurrent_stock_transactions_never_oversell() -> None:
    """moto alone loses writes when a failed transaction restores its snapshot; the embedded server must not."""
    stock, buyers = 20, 120
    with EmbeddedMoto() as endpoints:
        dynamodb = endpoints.client("dynamodb", max_pool_connections=32)
        for table, key in (("catalog", "sku"), ("reservations", "order_id")):
            dynamodb.create_table(
                TableName=table, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            )
        dynamodb.put_item(TableName="catalog", Item={"sku": {"S": "RARE"}, "stock": {"N": str(stock)}})
        for start in range(0, 2000, 25):  # a catalog big enough that moto's per-transaction table copy takes a while
            dynamodb.batch_write_item(RequestItems={"catalog": [
                {"PutRequest": {"Item": {"sku": {"S": f"FILLER-{n}"}, "stock": {"N": "1"}}}} for n in range(start, start + 25)
            ]})

        def buy(n: int) -> bool:
            try:
                dynamodb.transact_write_items(TransactItems=[
                    {"Update": {"TableName": "catalog", "Key": {"sku": {"S": "RARE"}}, "UpdateExpression": "SET stock = stock - :one",
                                "ConditionExpression": "stock >= :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                    {"Put": {"TableName": "reservations", "Item": {"order_id": {"S": f"o{n}"}},
                             "ConditionExpression": "attribute_not_exists(order_id)"}},
                ])
            except dynamodb.exceptions.TransactionCanceledException:
                return False
            return True

        with ThreadPoolExecutor(max_workers=32) as pool:
            bought = sum(pool.map(buy, range(buyers)))
        left = int(dynamodb.get_item(TableName="catalog", Key={"sku": {"S": "RARE"}}, ConsistentRead=True)["Item"]["stock"]["N"])
        reserved = dynamodb.scan(TableName="reservations", Select="COUNT")["Count"]
    assert (bought, left, reserved) == (stock, 0, stock)


@pytest.mark.parametrize(
    ("operation", "body", "tables"),
    [
        ("GetItem", {"TableName": "orders"}, frozenset()),
        ("Query", {"TableName": "orders"}, frozenset()),
        ("PutItem", {"TableName": "orders"}, frozenset({"orders"})),
        ("UpdateItem", {"TableName": "arn:aws:dynamodb:us-east-1:123456789012:table/orders"}, frozenset({"orders"})),
        ("BatchWriteItem", {"RequestItems": {"a": [], "b": []}}, frozenset({"a", "b"})),
        ("TransactWriteItems", {"TransactItems": [{"Update": {"TableName": "catalog"}}, {"ConditionCheck": {"TableName": "r"}}]},
         frozenset({"catalog", "r"})),
        ("ExecuteStatement", {"Statement": "UPDATE orders SET x = 1"}, EVERY_TABLE),
        ("PutItem", {"Item": {}}, EVERY_TABLE),  # malformed: moto answers it, with every table held
    ],
)
def test_each_write_locks_the_tables_it_names(operation: str, body: dict, tables: frozenset[str] | None) -> None:
    assert tables_written(operation, json.dumps(body).encode()) == tables


def _overlap(locks: TableLocks, first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    """Whether a holder of `second` gets in while `first` is held."""
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.holding(first):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    entered = threading.Event()

    def enter() -> None:
        with locks.holding(second):
            entered.set()

    other = threading.Thread(target=enter)
    other.start()
    overlapped = entered.wait(0.3)
    release.set()
    holder.join(5)
    other.join(5)
    assert entered.is_set(), "the second holder never got in after the first left"
    return overlapped


def test_writes_to_different_tables_go_side_by_side_and_to_one_table_one_at_a_time() -> None:
    assert _overlap(TableLocks(), frozenset({"orders"}), frozenset({"search"}))
    assert not _overlap(TableLocks(), frozenset({"orders", "catalog"}), frozenset({"catalog"}))
    assert not _overlap(TableLocks(), frozenset({"orders"}), EVERY_TABLE)
    assert not _overlap(TableLocks(), EVERY_TABLE, frozenset({"search"}))


def _tables(dynamodb: object) -> None:
    """A catalog with a stream (so a rolled-back write must leave no record) and a reservations table."""
    dynamodb.create_table(  # type: ignore[attr-defined]
        TableName="catalog", KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.create_table(  # type: ignore[attr-defined]
        TableName="reservations", KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )


def _stream_records(endpoints: object) -> list[str]:
    streams = endpoints.client("dynamodbstreams")  # type: ignore[attr-defined]
    arn = streams.list_streams(TableName="catalog")["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [record["eventName"] for record in streams.get_records(ShardIterator=iterator)["Records"]]


def test_a_failed_condition_on_the_second_item_leaves_the_first_unchanged() -> None:
    """All or nothing, reasons in order, the old image on ALL_OLD, and no stream record of the undone write
    (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)."""
    with EmbeddedMoto() as endpoints:
        dynamodb = endpoints.client("dynamodb")
        _tables(dynamodb)
        dynamodb.put_item(TableName="catalog", Item={"sku": {"S": "A"}, "stock": {"N": "5"}})
        dynamodb.put_item(TableName="reservations", Item={"order_id": {"S": "taken"}, "by": {"S": "first"}})
        before = _stream_records(endpoints)
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
            dynamodb.transact_write_items(TransactItems=[
                {"Update": {"TableName": "catalog", "Key": {"sku": {"S": "A"}}, "UpdateExpression": "SET stock = stock - :q",
                            "ConditionExpression": "stock >= :q", "ExpressionAttributeValues": {":q": {"N": "1"}}}},
                {"Update": {"TableName": "catalog", "Key": {"sku": {"S": "NEW"}}, "UpdateExpression": "SET stock = :q",
                            "ExpressionAttributeValues": {":q": {"N": "1"}}}},
                {"Put": {"TableName": "reservations", "Item": {"order_id": {"S": "taken"}, "by": {"S": "second"}},
                         "ConditionExpression": "attribute_not_exists(order_id)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            ])
        reasons = cancelled.value.response["CancellationReasons"]
        assert [r["Code"] for r in reasons] == ["None", "None", "ConditionalCheckFailed"]
        assert reasons[2]["Item"] == {"order_id": {"S": "taken"}, "by": {"S": "first"}}
        assert dynamodb.get_item(TableName="catalog", Key={"sku": {"S": "A"}}, ConsistentRead=True)["Item"]["stock"] == {"N": "5"}
        assert "Item" not in dynamodb.get_item(TableName="catalog", Key={"sku": {"S": "NEW"}}, ConsistentRead=True)
        assert dynamodb.get_item(TableName="reservations", Key={"order_id": {"S": "taken"}})["Item"]["by"] == {"S": "first"}
        assert _stream_records(endpoints) == before == ["INSERT"]

        dynamodb.transact_write_items(TransactItems=[  # and one that holds is applied in full, with its records
            {"Update": {"TableName": "catalog", "Key": {"sku": {"S": "A"}}, "UpdateExpression": "SET stock = stock - :q",
                        "ConditionExpression": "stock >= :q", "ExpressionAttributeValues": {":q": {"N": "1"}}}},
            {"Put": {"TableName": "reservations", "Item": {"order_id": {"S": "o2"}}, "ConditionExpression": "attribute_not_exists(order_id)"}},
        ])
        assert dynamodb.get_item(TableName="catalog", Key={"sku": {"S": "A"}}, ConsistentRead=True)["Item"]["stock"] == {"N": "4"}
        assert _stream_records(endpoints) == ["INSERT", "MODIFY"]


def test_two_operations_on_one_item_are_refused_and_change_nothing() -> None:
    with EmbeddedMoto() as endpoints:
        dynamodb = endpoints.client("dynamodb")
        _tables(dynamodb)
        dynamodb.put_item(TableName="catalog", Item={"sku": {"S": "A"}, "stock": {"N": "5"}})
        with pytest.raises(dynamodb.exceptions.ClientError, match="multiple operations on one item"):
            dynamodb.transact_write_items(TransactItems=[
                {"Put": {"TableName": "reservations", "Item": {"order_id": {"S": "o1"}}}},
                {"Update": {"TableName": "catalog", "Key": {"sku": {"S": "A"}}, "UpdateExpression": "SET stock = :z",
                            "ExpressionAttributeValues": {":z": {"N": "0"}}}},
                {"ConditionCheck": {"TableName": "catalog", "Key": {"sku": {"S": "A"}}, "ConditionExpression": "attribute_exists(sku)"}},
            ])
        assert dynamodb.get_item(TableName="catalog", Key={"sku": {"S": "A"}}, ConsistentRead=True)["Item"]["stock"] == {"N": "5"}
        assert dynamodb.scan(TableName="reservations", Select="COUNT")["Count"] == 0


def _dynamodb_local_installed() -> DynamoDBLocal:
    """DynamoDB Local, or skip (fail under CI, where `make test` installs it) when it is not installed."""
    local = DynamoDBLocal()
    if not (ROOT / ".dynamodb-local" / ".installed").exists() and not os.environ.get("DYNAMODB_LOCAL_HOME"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI: DynamoDB Local is not installed (make dynamodb-local-install)", pytrace=False)
        pytest.skip("DynamoDB Local is not installed: make dynamodb-local-install")
    return local


def test_dynamodb_local_serves_dynamodb_and_streams_on_loopback_only_and_stops() -> None:
    local = _dynamodb_local_installed()
    endpoints = local.start()
    try:
        assert endpoints.default is None and set(endpoints.per_service) == {"dynamodb", "dynamodbstreams"}
        url = endpoints.per_service["dynamodb"]
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
        # Java listens on an IPv6 socket: the loopback address shows as [::ffff:127.0.0.1], every interface as *.
        addresses = {line.split()[3].replace("[::ffff:", "").replace("]", "") for line in listening.splitlines()}
        assert addresses == {f"127.0.0.1:{port}"}
        _tables(endpoints.client("dynamodb"))
        endpoints.client("dynamodb").put_item(TableName="catalog", Item={"sku": {"S": "A"}, "stock": {"N": "1"}})
        assert _stream_records(endpoints) == ["INSERT"]
    finally:
        local.stop()
    assert not answers(url)


PITR_TABLE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: order_id, AttributeType: S}]
      KeySchema: [{AttributeName: order_id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      PointInTimeRecoverySpecification: {PointInTimeRecoveryEnabled: true}
      SSESpecification: {SSEEnabled: true}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
"""


def test_a_table_deploys_on_dynamodb_local_and_the_report_says_what_it_lacks(tmp_path: Path) -> None:
    """DynamoDB Local has no continuous-backups API: the table is made, and the report names the property it did not get."""
    local = _dynamodb_local_installed()
    template = tmp_path / "template.yaml"
    template.write_text(PITR_TABLE)
    with EmbeddedMoto() as moto:
        try:
            served = local.start()
            endpoints = Endpoints(default=moto.default, per_service=dict(served.per_service))
            stack = deploy(template, endpoints, stack_name="pitr")
        finally:
            local.stop()
    (line,) = stack.report
    assert (line.logical_id, line.action) == ("Orders", "created")
    assert "PointInTimeRecoverySpecification not applied" in line.detail
    assert ":table/pitr-Orders/stream/" in stack.resources["Orders"].attributes["StreamArn"]
