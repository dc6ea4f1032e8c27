"""Encryption, exposure and operations, read from template.yaml (translated as CloudFormation sees it).

Each test names a property every resource of a kind must have, so a queue, bucket, table or
function added later without it fails here, not in production.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from . import stack

ALARM_TOPIC = {"Ref": "AlarmTopic"}
ROUTES_DOC = stack.ROOT / "docs" / "openapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return stack.load()


@pytest.fixture(scope="module")
def translated(document: dict[str, Any]) -> dict[str, Any]:
    return stack.translate(document)


def _get_att(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def _same_ref(value: Any, logical_id: str, attribute: str) -> bool:
    """`!GetAtt X.Attr` in either of its written forms."""
    return value in (_get_att(logical_id, attribute), {"Fn::GetAtt": f"{logical_id}.{attribute}"})


# --- encryption and exposure -----------------------------------------------------------------------


def test_every_queue_is_encrypted(translated: dict[str, Any]) -> None:
    queues = stack.of_type(translated, "AWS::SQS::Queue")
    assert queues
    unencrypted = [q for q, p in queues.items() if p.get("SqsManagedSseEnabled") is not True and "KmsMasterKeyId" not in p]
    assert unencrypted == []


def test_every_topic_is_encrypted_and_alarms_can_publish_to_theirs(translated: dict[str, Any]) -> None:
    topics = stack.of_type(translated, "AWS::SNS::Topic")
    assert all("KmsMasterKeyId" in p for p in topics.values()), topics
    key = topics["AlarmTopic"]["KmsMasterKeyId"]
    assert key == {"Ref": "OperationsKey"}, "CloudWatch alarms cannot publish to a topic under aws/sns"
    policy = stack.of_type(translated, "AWS::KMS::Key")["OperationsKey"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert stack.of_type(translated, "AWS::KMS::Key")["OperationsKey"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("bucket", ["ReceiptsBucket", "DataLakeBucket", "ArchiveBucket", "ImportBucket"])
def test_bucket_is_encrypted_private_and_tls_only(translated: dict[str, Any], bucket: str) -> None:
    props = stack.of_type(translated, "AWS::S3::Bucket")[bucket]
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rules and all(r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms") for r in rules)
    block = props["PublicAccessBlockConfiguration"]
    assert [block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")] == [True] * 4
    policies = [
        (translated["Resources"][logical_id], p)
        for logical_id, p in stack.of_type(translated, "AWS::S3::BucketPolicy").items()
        if p["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1, f"{bucket} has no (or more than one) bucket policy"
    resource, policy = policies[0]
    # Left out only where the stack is not really deployed (the plain-HTTP local cloud).
    assert resource.get("Condition") == "IsDeployed"
    deny = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [_get_att(bucket, "Arn"), {"Fn::Join": ["", [_get_att(bucket, "Arn"), "/*"]]}],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_tls_policies_are_left_out_only_on_the_local_cloud(document: dict[str, Any]) -> None:
    assert stack.conditions(document, {"Stage": "local"}).condition("IsDeployed") is False
    assert all(stack.conditions(document, {"Stage": stage}).condition("IsDeployed") for stage in ("dev", "staging", "prod"))


@pytest.mark.parametrize("bucket", ["ReceiptsBucket", "DataLakeBucket", "ArchiveBucket"])
def test_data_that_must_survive_is_versioned_and_retained(translated: dict[str, Any], bucket: str) -> None:
    resource = translated["Resources"][bucket]
    assert resource["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"


_STATEFUL = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::KMS::Key")


@pytest.mark.parametrize("stage", ["local", "dev", "staging", "prod"])
def test_stateful_resources_survive_a_delete_or_replacement_in_prod(document: dict[str, Any], translated: dict[str, Any], stage: str) -> None:
    """`!If [IsProd, Retain, Delete]` (AWS::LanguageExtensions resolves it): prod keeps every table, bucket and key."""
    assert "AWS::LanguageExtensions" in document["Transform"]
    intrinsics = stack.conditions(document, {"Stage": stage})
    stateful = {i: r for i, r in translated["Resources"].items() if r["Type"] in _STATEFUL}
    assert len([r for r in stateful.values() if r["Type"] == "AWS::DynamoDB::Table"]) == 7  # with the sandbox's ledger
    for logical_id, resource in stateful.items():
        for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
            policy = intrinsics.resolve(resource.get(attribute, "Delete"))
            if stage == "prod":
                assert policy == "Retain", f"{logical_id}.{attribute}"
            else:
                assert policy in ("Retain", "Delete"), f"{logical_id}.{attribute}"


def test_only_the_data_buckets_are_kept_outside_prod(document: dict[str, Any], translated: dict[str, Any]) -> None:
    intrinsics = stack.conditions(document, {"Stage": "dev"})
    kept = {
        i for i, r in translated["Resources"].items()
        if r["Type"] != "AWS::Lambda::Version" and intrinsics.resolve(r.get("DeletionPolicy", "Delete")) == "Retain"
    }
    assert kept == {"ReceiptsBucket", "DataLakeBucket", "ArchiveBucket"}, "SAM retains function versions; nothing else"


@pytest.mark.parametrize("bucket", ["ReceiptsBucket", "DataLakeBucket", "ArchiveBucket", "ImportBucket"])
def test_every_bucket_has_lifecycle_rules_and_versioned_ones_expire_noncurrent_versions(translated: dict[str, Any], bucket: str) -> None:
    props = stack.of_type(translated, "AWS::S3::Bucket")[bucket]
    rules = props["LifecycleConfiguration"]["Rules"]
    assert all(r["Status"] == "Enabled" and r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] > 0 for r in rules)
    if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        # the analytics consumer overwrites on redelivery: each overwrite is a noncurrent version
        assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays", 0) > 0 for r in rules)
    else:
        assert any(r.get("ExpirationInDays", 0) > 0 for r in rules)


def test_point_in_time_recovery_and_alarm_email_are_enforced_by_rules(document: dict[str, Any]) -> None:
    """Rules fail the deploy before anything is created (CloudFormation's Rules section)."""
    assert stack.failed_rules(document, {"Stage": "prod", "AlarmEmail": ""}) == ["ProdAlarmsReachSomeone"]
    assert stack.failed_rules(document, {"Stage": "prod", "AlarmEmail": "ops@example.com"}) == []
    assert stack.failed_rules(document, {"Stage": "dev", "AlarmEmail": ""}) == []
    for stage in ("staging", "prod"):
        failed = stack.failed_rules(document, {"Stage": stage, "AlarmEmail": "ops@example.com", "PointInTimeRecovery": "false"})
        assert failed == ["DeployedDataIsRecoverable"], stage
    assert stack.failed_rules(document, {"Stage": "dev", "PointInTimeRecovery": "false"}) == []


# --- the key, queues and alarms against AWS's advice -------------------------------------------------


def test_key_policy_grants_only_to_aws_services_and_only_for_this_accounts_alarms(translated: dict[str, Any]) -> None:
    policy = stack.of_type(translated, "AWS::KMS::Key")["OperationsKey"]["KeyPolicy"]["Statement"]
    grants = [s for s in policy if "kms:CreateGrant" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    allowed = [s for s in grants if s["Effect"] == "Allow"]
    assert allowed and all(s.get("Condition") == {"Bool": {"kms:GrantIsForAWSResource": "true"}} for s in allowed)
    # and everyone else is denied grants, whatever IAM allows (Control Tower's CT.KMS.PR.3)
    denied = [s for s in grants if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in denied] == [{"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}}]
    cloudwatch = next(s for s in policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"})
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]


def test_every_sqs_source_queue_hides_a_message_for_six_timeouts_plus_the_batching_window(translated: dict[str, Any]) -> None:
    """AWS: "set the source queue's visibility timeout to at least six times the timeout that you configure on
    your function", plus MaximumBatchingWindowInSeconds
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)."""
    queues = {q: p for q, p in stack.of_type(translated, "AWS::SQS::Queue").items()}
    functions = stack.of_type(translated, "AWS::Lambda::Function")
    mappings = [p for p in stack.of_type(translated, "AWS::Lambda::EventSourceMapping").values() if "Queue" in str(p["EventSourceArn"])]
    assert len(mappings) == 7
    for mapping in mappings:
        queue = stack.target(mapping["EventSourceArn"])
        function = stack.target(mapping["FunctionName"])
        needed = 6 * functions[function].get("Timeout", 3) + mapping.get("MaximumBatchingWindowInSeconds", 0)
        assert queues[queue]["VisibilityTimeout"] >= needed, (queue, needed)
        assert queues[queue]["RedrivePolicy"]["maxReceiveCount"] >= 5, queue


def test_relay_dlq_alarms_before_its_stream_records_expire(translated: dict[str, Any]) -> None:
    """A relay DLQ message points at stream records, which DynamoDB Streams keeps 24 hours."""
    alarm = stack.of_type(translated, "AWS::CloudWatch::Alarm")["RelayDLQAgeAlarm"]
    assert alarm["Threshold"] + alarm["Period"] * alarm["EvaluationPeriods"] < 24 * 3600


# --- quotas and scaling --------------------------------------------------------------------------------


def test_a_low_quota_account_can_reserve_nothing(document: dict[str, Any]) -> None:
    """Lambda keeps 100 of the account's concurrency unreserved: a reservation fails on a quota of 10 or 50."""
    translated = stack.translate(document)
    functions = stack.of_type(translated, "AWS::Lambda::Function")
    assert [f for f, p in functions.items() if "ReservedConcurrentExecutions" in p] == ["CheckoutFunction"]
    reservation = functions["CheckoutFunction"]["ReservedConcurrentExecutions"]
    reserved = stack.conditions(document, {"ConcurrencyReservation": "reserved", "CheckoutConcurrency": "5"})
    assert reserved.resolve({"R": reservation}) == {"R": "5"}
    none = stack.conditions(document, {"ConcurrencyReservation": "none"})
    assert none.resolve({"R": reservation}) == {}, "AWS::NoValue: the property is left out"
    mapping = next(p for p in stack.of_type(translated, "AWS::Lambda::EventSourceMapping").values() if "CheckoutQueue" in str(p["EventSourceArn"]))
    assert mapping["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "CheckoutConcurrency"}


def test_provisioned_concurrency_has_one_mechanism(document: dict[str, Any]) -> None:
    translated = stack.translate(document, {"ProvisionedConcurrency": "5"})
    aliases = stack.of_type(translated, "AWS::Lambda::Alias")
    assert aliases and all("ProvisionedConcurrencyConfig" not in p for p in aliases.values())
    target = stack.of_type(translated, "AWS::ApplicationAutoScaling::ScalableTarget")["ApiScalableTarget"]
    assert target["MinCapacity"] == {"Ref": "ProvisionedConcurrency"}


def test_every_table_is_encrypted_with_point_in_time_recovery_by_parameter(translated: dict[str, Any]) -> None:
    tables = stack.of_type(translated, "AWS::DynamoDB::Table")
    assert tables
    for name, props in tables.items():
        assert props["SSESpecification"]["SSEEnabled"] is True, name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": {"Ref": "PointInTimeRecovery"}}, name


# --- the HTTP API ----------------------------------------------------------------------------------


def _documented_routes() -> set[str]:
    paths = yaml.safe_load(ROUTES_DOC.read_text())["paths"]
    return {f"{method.upper()} {path}" for path, operations in paths.items() for method in operations}


def test_routes_are_the_documented_ones_and_no_unauthenticated_sam_api_remains(translated: dict[str, Any]) -> None:
    routes = {str(p["RouteKey"]) for p in stack.of_type(translated, "AWS::ApiGatewayV2::Route").values()}
    assert routes == _documented_routes()
    apis = stack.of_type(translated, "AWS::ApiGatewayV2::Api")
    assert list(apis) == ["HttpApi"], "an HttpApi event on a function would add SAM's ServerlessHttpApi, outside ApiAuth"


@pytest.mark.parametrize(
    ("api_auth", "authorization", "authorizer"),
    [("NONE", "NONE", False), ("IAM", "AWS_IAM", False), ("JWT", "JWT", True)],
)
def test_every_route_is_authorized_as_api_auth_says(
    document: dict[str, Any], translated: dict[str, Any], api_auth: str, authorization: str, authorizer: bool
) -> None:
    conditions = stack.conditions(document, {"ApiAuth": api_auth, "JwtIssuer": "https://issuer.example", "JwtAudience": "orderflow"})
    for name, route in stack.of_type(translated, "AWS::ApiGatewayV2::Route").items():
        assert conditions.resolve(route["AuthorizationType"]) == authorization, name
        assert conditions.condition("IsJwtAuth") is authorizer
    assert translated["Resources"]["HttpApiJwtAuthorizer"]["Condition"] == "IsJwtAuth"


@pytest.mark.parametrize("api_auth", ["NONE", "IAM", "JWT"])
def test_only_the_warehouse_route_needs_the_dispatch_scope_and_the_api_knows_who_authenticates(
    document: dict[str, Any], translated: dict[str, Any], api_auth: str
) -> None:
    conditions = stack.conditions(document, {"ApiAuth": api_auth, "JwtIssuer": "https://issuer.example", "JwtAudience": "orderflow"})
    scoped = {
        str(route["RouteKey"]): conditions.resolve({"S": route.get("AuthorizationScopes", {"Ref": "AWS::NoValue"})}).get("S")
        for route in stack.of_type(translated, "AWS::ApiGatewayV2::Route").values()
    }
    expected = ["orders/dispatch"] if api_auth == "JWT" else None  # JwtDispatchScope's default
    assert {key: scopes for key, scopes in scoped.items() if scopes} == ({"POST /shipments/{order_id}/dispatch": expected} if expected else {})
    api = stack.of_type(translated, "AWS::Lambda::Function")["ApiFunction"]
    assert api["Environment"]["Variables"]["API_AUTH"] == {"Ref": "ApiAuth"}, "the handler takes the customer from the caller"


def test_the_default_is_authenticated(document: dict[str, Any]) -> None:
    assert document["Parameters"]["ApiAuth"]["Default"] == "IAM"


def test_stage_is_throttled_and_access_logged(translated: dict[str, Any]) -> None:
    (stage,) = stack.of_type(translated, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert _same_ref(stage["AccessLogSettings"]["DestinationArn"], "HttpApiAccessLogGroup", "Arn")
    assert "$context.requestId" in stage["AccessLogSettings"]["Format"]


# --- operations ------------------------------------------------------------------------------------


def _dead_letter_queues(translated: dict[str, Any]) -> set[str]:
    """Queues a redrive policy or a Lambda OnFailure destination sends to."""
    found = {
        stack.target(p["RedrivePolicy"]["deadLetterTargetArn"])
        for p in stack.of_type(translated, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in p
    }
    for mapping in stack.of_type(translated, "AWS::Lambda::EventSourceMapping").values():
        destination = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None:
            found.add(stack.target(destination))
    return found


def _alarms(translated: dict[str, Any], namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    """Dimension value (the queue or function it watches, as a target name) -> alarm properties."""
    return {
        stack.target(p["Dimensions"][0]["Value"]).removesuffix(".QueueName"): p
        for p in stack.of_type(translated, "AWS::CloudWatch::Alarm").values()
        if p.get("Namespace") == namespace and p.get("MetricName") == metric
    }


def test_every_dead_letter_queue_alarms_on_its_first_message(translated: dict[str, Any]) -> None:
    dlqs = _dead_letter_queues(translated)
    assert "RelayDLQ" in dlqs and "CheckoutDLQ" in dlqs
    depth = _alarms(translated, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlqs <= set(depth), f"no depth alarm on {sorted(dlqs - set(depth))}"
    for queue in dlqs:
        alarm = depth[queue]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold"), queue


def test_every_queue_alarms_on_the_age_of_its_oldest_message(translated: dict[str, Any]) -> None:
    queues = set(stack.of_type(translated, "AWS::SQS::Queue"))
    age = _alarms(translated, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert queues <= set(age), f"no age alarm on {sorted(queues - set(age))}"
    dlqs = _dead_letter_queues(translated)
    for queue in queues - dlqs:
        assert age[queue]["Threshold"] == {"Ref": "QueueAgeAlarmSeconds"}, queue
    for queue in dlqs:  # before SQS's retention drops the message
        retention = stack.of_type(translated, "AWS::SQS::Queue")[queue]["MessageRetentionPeriod"]
        assert age[queue]["Threshold"] < retention, queue


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_alarms_on(translated: dict[str, Any], metric: str) -> None:
    functions = set(stack.of_type(translated, "AWS::Lambda::Function"))
    alarms = _alarms(translated, "AWS/Lambda", metric)
    assert functions <= set(alarms), f"no {metric} alarm on {sorted(functions - set(alarms))}"


def test_every_alarm_notifies_the_alarm_topic_which_is_encrypted(translated: dict[str, Any]) -> None:
    alarms = stack.of_type(translated, "AWS::CloudWatch::Alarm")
    assert {n for n, p in alarms.items() if p.get("AlarmActions") != [ALARM_TOPIC]} == set()
    subscription = translated["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Protocol"] == "email"


def test_every_log_group_is_declared_with_retention_and_the_key(translated: dict[str, Any]) -> None:
    groups = {stack.target(p["LogGroupName"]): p for p in stack.of_type(translated, "AWS::Logs::LogGroup").values()}
    for name, function in stack.of_type(translated, "AWS::Lambda::Function").items():
        group = "/aws/lambda/" + stack.target(function["FunctionName"])
        assert group in groups, f"{name} logs to {group}, which the template does not declare"
    assert "/aws/http-api/AWS::StackName" in groups
    for name, group in groups.items():
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        assert _same_ref(group["KmsKeyId"], "OperationsKey", "Arn"), name


def test_dashboard_body_is_json_and_shows_the_order_flow(translated: dict[str, Any]) -> None:
    (dashboard,) = stack.of_type(translated, "AWS::CloudWatch::Dashboard").values()
    text = dashboard["DashboardBody"]["Fn::Sub"]
    rendered = json.loads(re.sub(r"\$\{([^}!]+)\}", lambda m: f"<{m.group(1)}>", text))
    metrics = json.dumps([w["properties"]["metrics"] for w in rendered["widgets"]])
    for counter in ("OrdersPlaced", "OrdersConfirmed", "OrdersRejected", "OrdersCancelled"):
        assert counter in metrics
    for queue in stack.of_type(translated, "AWS::SQS::Queue"):
        assert f"<{queue}.QueueName>" in metrics, queue
    for function in stack.of_type(translated, "AWS::Lambda::Function"):
        if "Condition" in translated["Resources"][function]:
            continue  # the one body cannot name a function that only some stacks have (its alarms cover it)
        assert metrics.count(f'"<{function}>"') >= 2, f"{function}: errors and duration"

