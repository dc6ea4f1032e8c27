"""The fault proxy forwards to a real emulator and answers injected faults in each service's wire shape,
so botocore raises what AWS's answer would make it raise (and retries what it would retry)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from localcloud.emulator import EmbeddedMoto, Endpoints
from localcloud.faults.plan import Fault, FaultInjector, FaultKind, FaultPlan, FaultPlanError
from localcloud.faults.proxy import FaultProxy

ONCE = {"retries": {"total_max_attempts": 1, "mode": "standard"}}


@pytest.fixture(scope="module")
def moto() -> Iterator[Endpoints]:
    with EmbeddedMoto() as emulator:  # __enter__ yields its Endpoints
        yield emulator


def _through(moto: Endpoints, *faults: Fault) -> tuple[FaultProxy, Endpoints]:
    injector = FaultInjector(FaultPlan(tuple(faults), seed=1))
    proxy = FaultProxy(moto.default or "", injector)
    url = proxy.start()
    injector.arm()
    return proxy, Endpoints(default=url, per_service={}, region=moto.region)


def _code(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_requests_pass_through_unharmed_when_no_fault_fires(moto: Endpoints) -> None:
    proxy, endpoints = _through(moto)
    try:
        s3 = endpoints.client("s3")
        s3.create_bucket(Bucket="proxy-pass")
        s3.put_object(Bucket="proxy-pass", Key="k", Body=b"12345")
        assert s3.head_object(Bucket="proxy-pass", Key="k")["ContentLength"] == 5
        assert s3.get_object(Bucket="proxy-pass", Key="k")["Body"].read() == b"12345"
    finally:
        proxy.stop()


def test_dynamodb_faults_in_their_wire_shape(moto: Endpoints) -> None:
    table = "proxy-faults"
    moto.client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )
    item = {"k": {"S": "1"}}
    for kind, expected in [
        (FaultKind.DYNAMODB_THROTTLING, "ThrottlingException"),
        (FaultKind.DYNAMODB_THROUGHPUT_EXCEEDED, "ProvisionedThroughputExceededException"),
        (FaultKind.DYNAMODB_TRANSACTION_CONFLICT, "TransactionConflictException"),
        (FaultKind.HTTP_500, "InternalServerError"),
    ]:
        proxy, endpoints = _through(moto, Fault(kind, 1.0, service="dynamodb"))
        try:
            ddb = endpoints.client("dynamodb", **ONCE)
            assert _code(lambda: ddb.put_item(TableName=table, Item=item)) in (expected, "InternalError"), kind
        finally:
            proxy.stop()
    proxy, endpoints = _through(moto, Fault(FaultKind.DYNAMODB_TRANSACTION_CONFLICT, 1.0))
    try:
        ddb = endpoints.client("dynamodb", **ONCE)
        with pytest.raises(ddb.exceptions.TransactionCanceledException) as caught:
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": item}}])
        assert [r["Code"] for r in caught.value.response["CancellationReasons"]] == ["TransactionConflict"]
        assert "Item" not in moto.client("dynamodb").get_item(TableName=table, Key=item), "a refused call must not reach the emulator"
    finally:
        proxy.stop()


def test_sns_sqs_s3_errors_parse_as_the_service_would_send_them(moto: Endpoints) -> None:
    topic = moto.client("sns").create_topic(Name="proxy-topic")["TopicArn"]
    queue = moto.client("sqs").create_queue(QueueName="proxy-queue")["QueueUrl"]
    moto.client("s3").create_bucket(Bucket="proxy-faulty")
    proxy, endpoints = _through(
        moto,
        Fault(FaultKind.HTTP_500, 1.0, service="sns", operations=frozenset({"Publish"})),
        Fault(FaultKind.HTTP_500, 1.0, service="sqs", operations=frozenset({"SendMessage"})),
        Fault(FaultKind.HTTP_503, 1.0, service="s3"),
    )
    try:
        assert _code(lambda: endpoints.client("sns", **ONCE).publish(TopicArn=topic, Message="m")) == "InternalError"
        assert _code(lambda: endpoints.client("sqs", **ONCE).send_message(QueueUrl=queue, MessageBody="m")) == "InternalError"
        assert _code(lambda: endpoints.client("s3", **ONCE).put_object(Bucket="proxy-faulty", Key="k", Body=b"x")) == "ServiceUnavailable"
        endpoints.client("sns", **ONCE).list_topics()  # an operation the plan does not name passes
        assert proxy.injector.fired_by_kind() == {"http_500": 2, "http_503": 1}
    finally:
        proxy.stop()


def test_botocore_retries_absorb_a_transient_fault(moto: Endpoints) -> None:
    topic = moto.client("sns").create_topic(Name="proxy-retry")["TopicArn"]
    proxy, endpoints = _through(moto, Fault(FaultKind.HTTP_500, 1.0, service="sns", operations=frozenset({"Publish"}), for_s=0.5))
    try:
        assert endpoints.client("sns", retries={"max_attempts": 10, "mode": "standard"}).publish(TopicArn=topic, Message="m")["MessageId"]
    finally:
        proxy.stop()


def test_the_same_seed_fires_the_same_faults() -> None:
    def fired(seed: int) -> list[bool]:
        injector = FaultInjector(FaultPlan((Fault(FaultKind.DYNAMODB_THROTTLING, 0.3),), seed=seed))
        injector.arm()
        return [injector.decide("dynamodb", "PutItem") is not None for _ in range(200)]

    assert fired(7) == fired(7)
    assert fired(7) != fired(8)
    assert 30 < sum(fired(7)) < 90


def test_plans_load_presets_and_refuse_what_is_not_injectable_yet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert {f.kind for f in FaultPlan.load("all").faults} >= {FaultKind.DYNAMODB_THROTTLING, FaultKind.PAYMENT_RESPONSE_LOST}
    path = tmp_path / "plan.json"
    path.write_text('{"faults": [{"kind": "crash_after_side_effect", "rate": 0.1}]}')
    with pytest.raises(FaultPlanError, match="not injectable yet"):
        FaultPlan.load(str(path)).validate_injectable()
    path.write_text('{"faults": [{"kind": "meteor", "rate": 0.1}]}')
    with pytest.raises(FaultPlanError, match="unknown fault kind 'meteor'"):
        FaultPlan.load(str(path))
    with pytest.raises(FaultPlanError, match="rate 2.0"):
        Fault(FaultKind.HTTP_500, 2.0)
