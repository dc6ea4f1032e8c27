"""Every policy statement of a translated template, and the rules of least privilege applied to them.

Identity policies (roles, managed and inline policies) grant a principal of this stack something;
resource policies (queues, topics, buckets, keys) say who may touch a resource. The wildcard rule
holds for the Allow statements of both; Deny statements may be broad, since a broader deny is
stricter (the buckets' TLS-only `s3:*` deny).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .stack import target

# The only actions allowed on Resource "*": they have no resource-level permissions in IAM.
# X-Ray (active tracing) writes segments and telemetry for the account, never for a resource;
# CloudWatch PutMetricData is scoped by namespace condition at most (the functions use EMF
# through their logs instead, so it is not granted today). DynamoDB ListStreams lists the account's
# streams: IAM evaluates it against "*" only (the Service Authorization Reference lists no resource type).
RESOURCE_STAR_ONLY = frozenset(
    {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData", "dynamodb:ListStreams"}
)

# Resource policies on which a key policy's "*" means "this key" (IAM requires it there).
_SELF_SCOPED = frozenset({"AWS::KMS::Key"})

_UNSCOPED_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$")
_AWS_MANAGED = "iam::aws:policy/"


@dataclass(frozen=True)
class Statement:
    where: str  # "ApiFunctionRole/api", "ReceiptsBucketPolicy", ...
    kind: str  # the CloudFormation type that carries it
    identity: bool
    body: Mapping[str, Any]

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    @property
    def actions(self) -> list[str]:
        return _as_list(self.body.get("Action"))

    @property
    def resources(self) -> list[Any]:
        return _as_list(self.body.get("Resource"))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(template: Mapping[str, Any]) -> Iterator[Statement]:
    for logical_id, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties") or {}
        documents: list[tuple[str, Any, bool]] = []
        if kind == "AWS::IAM::Role":
            documents += [(f"{logical_id}/{p['PolicyName']}", p["PolicyDocument"], True) for p in props.get("Policies", [])]
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, props["PolicyDocument"], True))
        elif kind in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"):
            documents.append((logical_id, props["PolicyDocument"], False))
        elif kind == "AWS::KMS::Key":
            documents.append((logical_id, props["KeyPolicy"], False))
        for where, document, identity in documents:
            for body in _as_list(document.get("Statement")):
                yield Statement(where, kind, identity, body)


def violations(template: Mapping[str, Any]) -> list[str]:
    """Why `template` breaks least privilege, one line per finding (empty when it does not)."""
    found: list[str] = []
    for statement in statements(template):
        if not statement.allows:
            continue
        if "NotAction" in statement.body or "NotResource" in statement.body:
            found.append(f"{statement.where}: Allow with NotAction/NotResource grants everything not listed")
        wildcards = [a for a in statement.actions if "*" in str(a)]
        if wildcards:
            found.append(f"{statement.where}: wildcard action {', '.join(map(str, wildcards))}")
        if statement.identity and any(_unscoped(r) for r in statement.resources):
            scopable = sorted(set(map(str, statement.actions)) - RESOURCE_STAR_ONLY)
            if scopable:
                found.append(f"{statement.where}: Resource \"*\" for {', '.join(scopable)}")
        if not statement.identity and statement.kind not in _SELF_SCOPED and "*" in statement.resources:
            found.append(f"{statement.where}: resource policy on Resource \"*\"")
        if not statement.identity and _anyone(statement.body.get("Principal")):
            found.append(f"{statement.where}: Allow to Principal \"*\"")
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for arn in (resource.get("Properties") or {}).get("ManagedPolicyArns", []):
            if _AWS_MANAGED in target(arn):
                found.append(f"{logical_id}: AWS-managed policy {target(arn)} (opaque, account-wide grants)")
    return found


def _unscoped(resource: Any) -> bool:
    text = target(resource)
    return text == "*" or bool(_UNSCOPED_ARN.match(text))


def _anyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS")))


def grants(template: Mapping[str, Any], role: str) -> set[tuple[str, str]]:
    """(action, resource) pairs a role's Allow statements grant, resources named as `stack.target` names them."""
    policies = {role}
    props = template["Resources"][role].get("Properties") or {}
    policies |= {target(arn) for arn in props.get("ManagedPolicyArns", [])}
    policies |= {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy" and role in {target(r) for r in resource["Properties"].get("Roles", [])}
    }
    return {
        (str(action), target(resource))
        for statement in statements(template)
        if statement.allows and statement.where.split("/", 1)[0] in policies
        for action in statement.actions
        for resource in statement.resources
    }
