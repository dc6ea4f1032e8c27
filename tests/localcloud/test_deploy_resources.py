"""Deploying a template with every common resource kind creates each one, with its attributes, in the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from localcloud.deploy import deploy
from localcloud.emulator import Endpoints
from localcloud.model import DeployedStack

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(scope="module")
def stack(endpoints: Endpoints) -> DeployedStack:
    return deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="full", parameters={"Stage": "local"})


def queue_attributes(endpoints: Endpoints, url: str) -> dict[str, str]:
    return endpoints.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def test_queues_have_their_redrive_fifo_and_delay_attributes(endpoints: Endpoints, stack: DeployedStack) -> None:
    orders = queue_attributes(endpoints, stack.physical_id("OrdersQueue"))
    redrive = json.loads(orders["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.resources["OrdersDLQ"].attributes["Arn"]
    assert int(redrive["maxReceiveCount"]) == 2  # FindInMap on Stage=local
    assert orders["VisibilityTimeout"] == "30"
    assert orders["ReceiveMessageWaitTimeSeconds"] == "1"
    assert json.loads(orders["Policy"])["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}

    ledger = queue_attributes(endpoints, stack.physical_id("LedgerQueue"))
    assert stack.physical_id("LedgerQueue").endswith("/full-LedgerQueue.fifo")
    assert ledger["FifoQueue"] == "true" and ledger["ContentBasedDeduplication"] == "true"

    named = queue_attributes(endpoints, stack.physical_id("NamedQueue"))
    assert stack.resources["NamedQueue"].attributes["QueueName"] == "full-named-local"
    assert named["DelaySeconds"] == "2"  # Fn::If on a Fn::Not condition
    assert queue_attributes(endpoints, stack.physical_id("OrdersDLQ"))["MessageRetentionPeriod"] == "1209600"


def test_resources_behind_a_false_condition_are_not_created(endpoints: Endpoints, stack: DeployedStack) -> None:
    assert "ProdOnlyQueue" not in stack.resources
    assert "ProdQueue" not in stack.outputs
    urls = endpoints.client("sqs").list_queues(QueueNamePrefix="full-ProdOnly").get("QueueUrls", [])
    assert urls == []


def test_filtered_raw_subscription_delivers_only_matching_messages(endpoints: Endpoints, stack: DeployedStack) -> None:
    sns, sqs = endpoints.client("sns"), endpoints.client("sqs")
    topic = stack.physical_id("OrderEventsTopic")
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("sqs", stack.resources["OrdersQueue"].attributes["Arn"])]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subs[0]["SubscriptionArn"])["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["FilterPolicy"]) == {"type": ["order.paid"]}
    assert attributes["FilterPolicyScope"] == "MessageAttributes"

    for kind in ("order.placed", "order.paid"):
        sns.publish(TopicArn=topic, Message=kind, MessageAttributes={"type": {"DataType": "String", "StringValue": kind}})
    received = sqs.receive_message(QueueUrl=stack.physical_id("OrdersQueue"), MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [m["Body"] for m in received.get("Messages", [])] == ["order.paid"]  # raw: the body is the message itself


def test_table_has_keys_index_ttl_and_stream(endpoints: Endpoints, stack: DeployedStack) -> None:
    ddb = endpoints.client("dynamodb")
    table = ddb.describe_table(TableName="full-OrdersTable")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-status"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert stack.resources["OrdersTable"].attributes["StreamArn"] == table["LatestStreamArn"]
    ttl = ddb.describe_time_to_live(TableName="full-OrdersTable")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_bucket_configuration_and_notification_to_sqs(endpoints: Endpoints, stack: DeployedStack) -> None:
    s3, sqs = endpoints.client("s3"), endpoints.client("sqs")
    bucket = stack.physical_id("UploadsBucket")
    assert bucket == "full-uploadsbucket"
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    s3.put_object(Bucket=bucket, Key="ignored/a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="incoming/b.txt", Body=b"b")
    messages = sqs.receive_message(QueueUrl=stack.physical_id("UploadsQueue"), MaxNumberOfMessages=10, WaitTimeSeconds=1)
    keys = [
        unquote_plus(record["s3"]["object"]["key"])  # S3 events carry URL-encoded keys, as on AWS
        for m in messages.get("Messages", [])
        for record in json.loads(m["Body"]).get("Records", [])
    ]
    assert keys == ["incoming/b.txt"]


def test_parameter_log_group_and_alarm(endpoints: Endpoints, stack: DeployedStack) -> None:
    assert endpoints.client("ssm").get_parameter(Name="/full/stage")["Parameter"]["Value"] == "local"
    groups = endpoints.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/full-echo")["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("/aws/lambda/full-echo", 7)]
    alarm = endpoints.client("cloudwatch").describe_alarms(AlarmNames=["full-DlqAlarm"])["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "full-OrdersDLQ"}]
    assert alarm["AlarmActions"] == [stack.physical_id("OrderEventsTopic")]


def test_function_environment_holds_physical_names(stack: DeployedStack) -> None:
    env = stack.function("ConsumeOrders").environment
    assert env["QUEUE_URL"] == stack.physical_id("OrdersQueue") and env["QUEUE_URL"].startswith("http://127.0.0.1:")
    assert env["QUEUE_NAME"] == "full-OrdersQueue"
    assert env["TABLE_NAME"] == "full-OrdersTable"
    assert env["TABLE_ARN"] == "arn:aws:dynamodb:us-east-1:123456789012:table/full-OrdersTable"
    assert env["TOPIC_ARN"] == "arn:aws:sns:us-east-1:123456789012:full-OrderEventsTopic"
    assert env["TOPIC_NAME"] == "full-OrderEventsTopic"
    assert env["BUCKET_NAME"] == "full-uploadsbucket" and env["BUCKET_ARN"] == "arn:aws:s3:::full-uploadsbucket"
    assert env["LEDGER_URL"].endswith("/full-LedgerQueue.fifo")
    assert env["GREETING"] == "hello local from us-east-1"
    assert env["JOINED"] == "a,local"
    assert env["STAGE"] == "local" and env["POWERTOOLS_SERVICE_NAME"] == "deploytest"  # from Globals


def test_function_specs_carry_code_limits_and_event_sources(stack: DeployedStack) -> None:
    consume = stack.function("ConsumeOrders")
    assert consume.function_name == "full-ConsumeOrders"
    assert consume.code_dir == (TEMPLATES / "deploy_handlers").resolve()
    assert (consume.handler, consume.runtime, consume.timeout_s, consume.memory_mb) == ("handlers.echo", "python3.13", 5, 256)
    assert consume.reserved_concurrency == 4
    (sqs_source,) = consume.sqs_sources
    assert sqs_source.queue_url == stack.physical_id("OrdersQueue")
    assert (sqs_source.batch_size, sqs_source.report_batch_item_failures, sqs_source.maximum_concurrency) == (5, True, 2)
    (stream,) = consume.stream_sources
    assert stream.stream_arn == stack.resources["OrdersTable"].attributes["StreamArn"]
    assert (stream.starting_position, stream.batch_size, stream.bisect_batch_on_function_error) == ("TRIM_HORIZON", 10, True)
    assert stream.maximum_retry_attempts == 2
    assert stream.on_failure_arn == stack.resources["OrdersDLQ"].attributes["Arn"]
    assert [(r.method, r.path, r.payload_format, r.stage) for r in consume.http_routes] == [
        ("GET", "/orders/{order_id}", "2.0", "$default")
    ]

    echo = stack.function("full-echo")
    assert [(r.method, r.path) for r in echo.http_routes] == [("POST", "/echo")]
    assert [(s.expression, s.input) for s in echo.schedules] == [("rate(5 minutes)", '{"tick": true}')]
    assert echo.async_config.maximum_retry_attempts == 1
    assert echo.async_config.on_failure_arn == stack.resources["OrdersDLQ"].attributes["Arn"]
    assert echo.timeout_s == 5 and echo.reserved_concurrency is None


def test_outputs_are_resolved(stack: DeployedStack) -> None:
    assert stack.outputs["OrdersQueueUrl"] == stack.physical_id("OrdersQueue")
    assert stack.outputs["OrdersTableName"] == "full-OrdersTable"
    assert stack.outputs["ApiUrl"] == f"https://{stack.physical_id('ServerlessHttpApi')}.execute-api.us-east-1.amazonaws.com"
    assert stack.parameters == {"Stage": "local", "RetentionDays": "7"}
