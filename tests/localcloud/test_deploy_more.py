"""The long tail: FIFO topics, body-scoped filters, autoscaling, lifecycle/CORS/notifications, IAM, REST and
raw HTTP APIs, inline code, function URLs, ScheduleV2, filtered/disabled mappings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.deploy import deploy
from localcloud.emulator import Endpoints
from localcloud.model import DeployedStack

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(scope="module")
def stack(endpoints: Endpoints) -> DeployedStack:
    return deploy(TEMPLATES / "deploy_more.yaml", endpoints, stack_name="more")


def test_topics_policies_and_a_body_scoped_subscription(endpoints: Endpoints, stack: DeployedStack) -> None:
    sns, sqs = endpoints.client("sns"), endpoints.client("sqs")
    fifo = sns.get_topic_attributes(TopicArn=stack.physical_id("EventsTopic"))["Attributes"]
    assert stack.physical_id("EventsTopic").endswith(":more-EventsTopic.fifo")
    assert fifo["FifoTopic"] == "true" and fifo["ContentBasedDeduplication"] == "true"
    plain = stack.physical_id("PlainTopic")
    policy = json.loads(sns.get_topic_attributes(TopicArn=plain)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}

    (sub,) = sns.list_subscriptions_by_topic(TopicArn=plain)["Subscriptions"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageBody"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": stack.resources["BodyDLQ"].attributes["Arn"]}
    sns.publish(TopicArn=plain, Message=json.dumps({"detail": {"kind": "small"}}))
    sns.publish(TopicArn=plain, Message=json.dumps({"detail": {"kind": "big"}}))
    received = sqs.receive_message(QueueUrl=stack.physical_id("BodyQueue"), MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [json.loads(json.loads(m["Body"])["Message"])["detail"]["kind"] for m in received["Messages"]] == ["big"]


def test_kms_key_alias_encrypted_queue_and_metric_filter(endpoints: Endpoints, stack: DeployedStack) -> None:
    kms = endpoints.client("kms")
    key = kms.describe_key(KeyId="alias/orders-data")["KeyMetadata"]
    assert key["KeyId"] == stack.physical_id("DataKey") and key["Description"] == "orders data"
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    sqs = endpoints.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=stack.physical_id("EncryptedQueue"), AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/orders-data"
    assert json.loads(attributes["Policy"])["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}
    (metric_filter,) = endpoints.client("logs").describe_metric_filters(logGroupName=stack.physical_id("AppLogs"))["metricFilters"]
    assert metric_filter["filterPattern"] == '{ $.level = "ERROR" }'
    assert metric_filter["metricTransformations"][0]["metricName"] == "Errors"


def test_fifo_queue_attributes(endpoints: Endpoints, stack: DeployedStack) -> None:
    attributes = endpoints.client("sqs").get_queue_attributes(QueueUrl=stack.physical_id("FifoQueue"), AttributeNames=["All"])[
        "Attributes"
    ]
    assert stack.physical_id("FifoQueue").endswith("/ledger.fifo")
    assert attributes["DeduplicationScope"] == "messageGroup"
    assert attributes["FifoThroughputLimit"] == "perMessageGroupId"
    assert attributes["KmsMasterKeyId"] == "alias/aws/sqs"


def test_provisioned_table_with_lsi_pitr_and_autoscaling(endpoints: Endpoints, stack: DeployedStack) -> None:
    ddb = endpoints.client("dynamodb")
    table = ddb.describe_table(TableName="capacity")["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["by-sk"]
    backups = ddb.describe_continuous_backups(TableName="capacity")["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    scaling = endpoints.client("application-autoscaling")
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == ("table/capacity", 2, 20)
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]
    assert policy["PolicyName"] == "read-tracking"
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70.0


def test_bucket_lifecycle_cors_policy_and_notifications(endpoints: Endpoints, stack: DeployedStack) -> None:
    s3 = endpoints.client("s3")
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket="reports-bucket-local")["Rules"]
    assert (rule["ID"], rule["Expiration"]["Days"], rule["Filter"]["Prefix"]) == ("expire-tmp", 3, "tmp/")
    (cors,) = s3.get_bucket_cors(Bucket="reports-bucket-local")["CORSRules"]
    assert (cors["AllowedMethods"], cors["MaxAgeSeconds"]) == (["GET"], 300)
    policy = json.loads(s3.get_bucket_policy(Bucket="reports-bucket-local")["Policy"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    notifications = s3.get_bucket_notification_configuration(Bucket="reports-bucket-local")
    assert [t["TopicArn"] for t in notifications["TopicConfigurations"]] == [stack.physical_id("PlainTopic")]
    assert "LambdaFunctionConfigurations" not in notifications  # the runtime's business, not the emulator's
    assert stack.resources["ReportsBucket"].attributes["LambdaConfigurations"] == [
        {
            "LambdaFunctionArn": stack.resources["Inline"].attributes["Arn"],
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}},
        }
    ]


def test_iam_roles_policies_dashboard_and_string_list(endpoints: Endpoints, stack: DeployedStack) -> None:
    iam = endpoints.client("iam")
    role = stack.physical_id("InlineRole")
    assert set(iam.list_role_policies(RoleName=role)["PolicyNames"]) >= {"extra"}
    managed = iam.get_policy(PolicyArn=stack.physical_id("ReaderPolicy"))["Policy"]
    assert managed["PolicyName"] == "more-ReaderPolicy"
    assert json.loads(endpoints.client("cloudwatch").get_dashboard(DashboardName="orders")["DashboardBody"]) == {"widgets": []}
    parameter = endpoints.client("ssm").get_parameter(Name="more-SubnetList")["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("StringList", "a,b")


def test_functions_from_inline_code_rest_api_raw_http_api_schedule_and_url(stack: DeployedStack) -> None:
    inline = stack.function("Inline")
    assert (inline.code_dir / "index.py").read_text().startswith("def handler(event, context):")
    assert [(r.api_logical_id, r.method, r.path, r.payload_format, r.stage) for r in inline.http_routes] == [
        ("ServerlessRestApi", "ANY", "/items/{id}", "1.0", "Prod")
    ]
    assert [(s.expression, s.input) for s in inline.schedules] == [("cron(0 3 * * ? *)", '{"nightly": true}')]
    (fifo,) = inline.sqs_sources
    assert fifo.queue_url == stack.physical_id("FifoQueue")
    # AWS refuses a batching window on a FIFO queue ("Batching window is not supported for FIFO queues")
    assert (fifo.enabled, fifo.batch_size, fifo.filter_patterns) == (False, 5, ({"body": {"kind": ["big"]}},))
    assert stack.outputs["FunctionUrl"].endswith(".lambda-url.us-east-1.on.aws/")

    raw = stack.function("Raw")
    assert raw.code_dir == (TEMPLATES / "deploy_handlers").resolve()
    assert raw.tracing == "Active"
    assert [(r.api_logical_id, r.method, r.path, r.payload_format, r.stage) for r in raw.http_routes] == [
        ("RawApi", "DELETE", "/raw/{id}", "1.0", "v1")
    ]
    assert "layers not loaded locally" in next(line.detail for line in stack.report if line.logical_id == "Raw")


def test_redeploy_of_the_long_tail_is_unchanged(endpoints: Endpoints, stack: DeployedStack) -> None:
    again = deploy(TEMPLATES / "deploy_more.yaml", endpoints, stack_name="more")
    changed = [(line.logical_id, line.action, line.detail) for line in again.report if line.action not in ("unchanged", "recorded")]
    assert changed == []
