"""Least privilege, read from template.yaml after the SAM transform (what CloudFormation deploys).

Each function runs under its own role granting the exact actions its code makes (read from
functions/handlers and functions/adapters) on the exact resources it touches; nothing is
granted with a wildcard action, and nothing scopable on Resource "*". A change that widens a
grant must change GRANTS below too, so it is seen in review.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from . import stack
from .policies import grants, statements, violations

# Every function: its log group (CreateLogStream/PutLogEvents) and X-Ray segments (Resource "*").
_COMMON = {"logs:CreateLogStream", "logs:PutLogEvents"}
_TRACING = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
_POLL = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
_IDEMPOTENCY = {(a, "IdempotencyTable") for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")}


def _poll(queue: str) -> set[tuple[str, str]]:
    return {(action, queue) for action in _POLL}


GRANTS: dict[str, tuple[str, set[tuple[str, str]]]] = {
    # function: (its log group, what its code calls)
    "ApiFunction": ("ApiLogGroup", {
        ("dynamodb:BatchGetItem", "CatalogTable"), ("dynamodb:Scan", "CatalogTable"),
        ("dynamodb:GetItem", "OrdersTable"), ("dynamodb:PutItem", "OrdersTable"), ("dynamodb:UpdateItem", "OrdersTable"),
        ("dynamodb:GetItem", "ShipmentsTable"),
    } | _IDEMPOTENCY),
    "RelayFunction": ("RelayLogGroup", {
        ("dynamodb:DescribeStream", "OrdersTable.StreamArn"), ("dynamodb:GetRecords", "OrdersTable.StreamArn"),
        ("dynamodb:GetShardIterator", "OrdersTable.StreamArn"), ("dynamodb:ListStreams", "*"),
        ("sns:Publish", "OrderEventsTopic"), ("sqs:SendMessage", "RelayDLQ"),
    }),
    "OutboxRecoveryFunction": ("OutboxRecoveryLogGroup", _poll("RelayDLQ") | {
        ("dynamodb:GetRecords", "OrdersTable.StreamArn"), ("dynamodb:GetShardIterator", "OrdersTable.StreamArn"),
        ("dynamodb:Scan", "OrdersTable"), ("sns:Publish", "OrderEventsTopic"),
    }),
    "CheckoutFunction": ("CheckoutLogGroup", _poll("CheckoutQueue") | {
        ("dynamodb:BatchGetItem", "CatalogTable"), ("dynamodb:UpdateItem", "CatalogTable"),
        ("dynamodb:GetItem", "OrdersTable"), ("dynamodb:UpdateItem", "OrdersTable"),
        ("dynamodb:GetItem", "ReservationsTable"), ("dynamodb:PutItem", "ReservationsTable"), ("dynamodb:DeleteItem", "ReservationsTable"),
        # the payment provider: one policy per PaymentProvider choice, each under its condition
        ("lambda:InvokeFunction", "PaymentSandboxFunction"),
        ("secretsmanager:GetSecretValue", "arn:AWS::Partition:secretsmanager:AWS::Region:AWS::AccountId:secret:StripeSecretName-??????"),
    } | _IDEMPOTENCY),
    "PaymentSandboxFunction": ("PaymentSandboxLogGroup", {
        (a, "PaymentLedgerTable") for a in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
    }),
    "EmailFunction": ("EmailLogGroup", _poll("EmailQueue") | {("s3:PutObject", "ReceiptsBucket/receipts/*")}),
    "ShippingFunction": ("ShippingLogGroup", _poll("ShippingQueue") | {
        ("dynamodb:PutItem", "ShipmentsTable"), ("dynamodb:UpdateItem", "ShipmentsTable"),
    }),
    "AnalyticsFunction": ("AnalyticsLogGroup", _poll("AnalyticsQueue") | {("s3:PutObject", "DataLakeBucket/analytics/*")}),
    "SearchFunction": ("SearchLogGroup", _poll("SearchQueue") | {("dynamodb:PutItem", "SearchTable")}),
    "ArchiveFunction": ("ArchiveLogGroup", _poll("ArchiveQueue") | {("s3:PutObject", "ArchiveBucket/events/*")}),
    "ImportFunction": ("ImportLogGroup", _poll("ImportQueue") | {
        ("s3:GetObject", "ImportBucket/imports/*"), ("s3:PutObject", "ImportBucket/reports/*"),
        ("dynamodb:BatchGetItem", "CatalogTable"), ("dynamodb:GetItem", "OrdersTable"), ("dynamodb:PutItem", "OrdersTable"),
    }),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return stack.load()


@pytest.fixture(scope="module")
def translated(document: dict[str, Any]) -> dict[str, Any]:
    return stack.translate(document)


def _role_of(template: dict[str, Any], function: str) -> str:
    return stack.target(template["Resources"][function]["Properties"]["Role"])


def test_no_wildcard_action_and_no_unscoped_resource(translated: dict[str, Any]) -> None:
    assert violations(translated) == []


def test_every_function_is_listed_and_has_a_role_of_its_own(translated: dict[str, Any]) -> None:
    functions = stack.of_type(translated, "AWS::Lambda::Function")
    assert set(functions) == set(GRANTS)
    roles = [_role_of(translated, f) for f in functions]
    assert len(set(roles)) == len(roles), roles
    assert all(translated["Resources"][r]["Type"] == "AWS::IAM::Role" for r in roles)


@pytest.mark.parametrize("function", sorted(GRANTS))
def test_function_is_granted_exactly_what_its_code_calls(translated: dict[str, Any], function: str) -> None:
    log_group, calls = GRANTS[function]
    expected = calls | {(action, log_group) for action in _COMMON} | _TRACING
    assert grants(translated, _role_of(translated, function)) == expected


# --- the checks themselves fail when a wildcard comes in -------------------------------------------


def _add_statement(document: dict[str, Any], role: str, statement: dict[str, Any]) -> None:
    document["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(statement)


ORDERS_ARN = {"Fn::GetAtt": ["OrdersTable", "Arn"]}


@pytest.mark.parametrize(
    ("statement", "finding"),
    [
        ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": ORDERS_ARN}, "ApiFunctionRole/api: wildcard action dynamodb:*"),
        ({"Effect": "Allow", "Action": "*", "Resource": ORDERS_ARN}, "ApiFunctionRole/api: wildcard action *"),
        ({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query*"], "Resource": ORDERS_ARN}, "wildcard action dynamodb:Query*"),
        ({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}, 'ApiFunctionRole/api: Resource "*" for sqs:SendMessage'),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": ORDERS_ARN}, "Allow with NotAction/NotResource"),
    ],
)
def test_a_wildcard_added_to_a_role_is_found(document: dict[str, Any], statement: dict[str, Any], finding: str) -> None:
    mutated = copy.deepcopy(document)
    _add_statement(mutated, "ApiFunctionRole", statement)
    found = violations(stack.translate(mutated))
    assert any(finding in line for line in found), found


def test_a_wildcard_through_sam_policies_is_found(document: dict[str, Any]) -> None:
    """A function going back to SAM's generated role: its inline wildcard and SAM's managed policies both show."""
    mutated = copy.deepcopy(document)
    properties = mutated["Resources"]["SearchFunction"]["Properties"]
    del properties["Role"], mutated["Resources"]["SearchFunctionRole"]  # SAM generates one under that id
    properties["Policies"] = [{"Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": ["SearchTable", "Arn"]}}]}]
    found = violations(stack.translate(mutated))
    assert any(line.startswith("SearchFunctionRole/") and "wildcard action dynamodb:*" in line for line in found), found
    assert any("AWSLambdaSQSQueueExecutionRole" in line for line in found), found


def test_a_resource_policy_open_to_anyone_is_found(document: dict[str, Any]) -> None:
    mutated = copy.deepcopy(document)
    queue_statements = mutated["Resources"]["CheckoutQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    queue_statements.append({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["CheckoutQueue", "Arn"]}})
    assert 'CheckoutQueuePolicy: Allow to Principal "*"' in violations(stack.translate(mutated))


def test_the_tls_only_deny_is_not_mistaken_for_a_grant(translated: dict[str, Any]) -> None:
    """`s3:*` in the buckets' Deny (and the key's CreateGrant deny) are stricter, not looser: the rule is about what is allowed."""
    denies = [s for s in statements(translated) if not s.allows]
    buckets = [s for s in denies if s.kind == "AWS::S3::BucketPolicy"]
    assert {s.where for s in buckets} == {"ReceiptsBucketPolicy", "DataLakeBucketPolicy", "ArchiveBucketPolicy", "ImportBucketPolicy"}
    assert all(s.actions == ["s3:*"] and s.body["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in buckets)
    assert [(s.where, s.actions) for s in denies if s not in buckets] == [("OperationsKey", ["kms:CreateGrant"])]
