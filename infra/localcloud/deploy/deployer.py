"""Deploying a template: parameters, SAM transform, dependency order, provisioning, functions, outputs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from localcloud.deploy.errors import DeployError, TemplateError
from localcloud.deploy.functions import Declared, build_functions
from localcloud.deploy.intrinsics import Intrinsics
from localcloud.deploy.parameters import resolve_parameters
from localcloud.deploy.provisioners import REGISTRY, Context, Provisioner
from localcloud.deploy.template import load_template, to_cloudformation
from localcloud.emulator import Endpoints
from localcloud.model import DeployedStack, ReportLine, Resource
from localcloud.runtime.event_sources import rules

# Where inline (`ZipFile`/`InlineCode`) functions are written so the runtime can import them.
INLINE_CODE_DIR = Path(".orderflow") / "inline-code"


def deploy(
    template: Path,
    endpoints: Endpoints,
    *,
    stack_name: str = "orderflow",
    parameters: Mapping[str, str] | None = None,
) -> DeployedStack:
    """Create (or bring up to date) every resource of `template` at `endpoints`.

    Raises DeployError, before touching the endpoint, when the template has a resource type or
    property the local cloud cannot create or record (each one named), and afterwards when an
    endpoint refuses a call (naming the resource, the service and its URL).
    """
    template = Path(template).resolve()
    document = load_template(template)
    region = endpoints.region
    account_id = _account_id(endpoints)
    strings, typed = resolve_parameters(document.get("Parameters") or {}, dict(parameters or {}), _ssm_lookup(endpoints))
    cfn = to_cloudformation(document, template.parent, strings, region)
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov") else "aws"
    stack_id = f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid.uuid5(uuid.NAMESPACE_URL, stack_name)}"
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": stack_id,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    deployed: dict[str, Resource] = {}
    intrinsics = Intrinsics(
        parameters=typed,
        pseudo=pseudo,
        mappings=cfn.template.get("Mappings") or {},
        conditions=cfn.template.get("Conditions") or {},
        resources=deployed,
        region=region,
    )
    active = {
        logical_id: resource
        for logical_id, resource in cfn.template["Resources"].items()
        if "Condition" not in resource or intrinsics.condition(resource["Condition"])
    }
    unsupported = _unsupported(active)
    if unsupported:
        lines = "\n  ".join(f"{line.logical_id} ({line.type}): {line.detail}" for line in unsupported)
        raise TemplateError(f"template {template.name} has resources the local cloud cannot deploy:\n  {lines}", unsupported)

    ctx = Context(endpoints, stack_name, region, account_id, deployed, partition)
    report: list[ReportLine] = []
    declared: dict[str, Declared] = {}
    for logical_id in _dependency_order(active, intrinsics):
        kind = active[logical_id]["Type"]
        provisioner = REGISTRY[kind]
        try:
            properties = intrinsics.resolve(active[logical_id].get("Properties") or {})
            outcome = provisioner.apply(ctx, logical_id, properties)
        except DeployError as error:
            raise DeployError(f"{logical_id} ({kind}): {error}", report) from error
        except (ClientError, BotoCoreError, ValueError, KeyError) as error:
            raise DeployError(f"{logical_id} ({kind}): {_explain(error, provisioner, endpoints)}", report) from error
        deployed[logical_id] = Resource(logical_id, kind, outcome.physical_id, outcome.attributes)
        declared[logical_id] = Declared(deployed[logical_id], properties)
        report.append(ReportLine(logical_id, kind, outcome.action, outcome.detail))

    try:
        functions, notes = build_functions(
            declared, cfn.code_dirs, template.parent / INLINE_CODE_DIR / stack_name, _queue_url_lookup(ctx)
        )
    except DeployError as error:
        raise type(error)(str(error), report) from error
    report = [ReportLine(l.logical_id, l.type, l.action, notes[l.logical_id]) if l.logical_id in notes else l for l in report]
    outputs = {
        name: intrinsics.resolve(output["Value"])
        for name, output in (cfn.template.get("Outputs") or {}).items()
        if "Condition" not in output or intrinsics.condition(output["Condition"])
    }
    return DeployedStack(stack_name, region, account_id, strings, deployed, functions, outputs, report)


def _unsupported(active: Mapping[str, Any]) -> list[ReportLine]:
    lines = []
    for logical_id, resource in active.items():
        kind = resource.get("Type", "")
        provisioner = REGISTRY.get(kind)
        if provisioner is None:
            lines.append(ReportLine(logical_id, kind, "unsupported", _why_unsupported(kind)))
            continue
        properties = set(resource.get("Properties") or {})
        if provisioner.properties is not None and properties - provisioner.properties:
            unknown = ", ".join(
                f"{name} ({rules.NOT_IMPLEMENTED[name]})" if name in rules.NOT_IMPLEMENTED else name
                for name in sorted(properties - provisioner.properties)
            )
            lines.append(ReportLine(logical_id, kind, "unsupported", f"properties not supported locally: {unknown}"))
        reason = _unsupported_use(kind, resource.get("Properties") or {})
        if reason:
            lines.append(ReportLine(logical_id, kind, "unsupported", reason))
    return lines


def _why_unsupported(kind: str) -> str:
    if kind.startswith("AWS::Serverless::"):
        return "a SAM type the transform left untranslated (is `Transform: AWS::Serverless-2016-10-31` declared?)"
    if kind.startswith(("Custom::", "AWS::CloudFormation::CustomResource")):
        return "custom resources need a deployed provider; the local cloud does not run them"
    return "no local provisioner for this type (add one under localcloud/deploy/provisioners)"


def _unsupported_use(kind: str, properties: Mapping[str, Any]) -> str:
    """Declarations of supported types whose behaviour the local cloud cannot give."""
    sns_to_lambda = "SNS delivery to Lambda is not run locally; subscribe an SQS queue and consume it"
    if kind == "AWS::SNS::Subscription" and properties.get("Protocol") == "lambda":
        return sns_to_lambda
    if kind == "AWS::SNS::Topic" and any(s.get("Protocol") == "lambda" for s in properties.get("Subscription", [])):
        return sns_to_lambda
    if kind == "AWS::Lambda::Function":
        if properties.get("PackageType") == "Image":
            return "container image functions need Docker"
        runtime = properties.get("Runtime")
        if isinstance(runtime, str) and not runtime.startswith("python3"):
            return f"runtime {runtime} is not run locally (python3.x only)"
    if kind == "AWS::Events::Rule" and "EventPattern" in properties and any(
        ":lambda:" in str(t.get("Arn")) or "Fn::GetAtt" in t.get("Arn", {}) for t in properties.get("Targets", [])
    ):
        return "EventBridge event-pattern rules are not delivered locally (schedules are)"
    return ""


def _dependency_order(active: Mapping[str, Any], intrinsics: Intrinsics) -> list[str]:
    """Template order, except that every resource comes after what it Refs, GetAtts, Subs or DependsOn."""
    needs: dict[str, set[str]] = {}
    for logical_id, resource in active.items():
        depends_on = resource.get("DependsOn") or []
        refs = intrinsics.references(resource.get("Properties") or {})
        needs[logical_id] = {r for r in refs | set([depends_on] if isinstance(depends_on, str) else depends_on) if r in active}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(active):
        ready = [r for r in active if r not in placed and needs[r] <= placed]
        if not ready:
            cycle = sorted(r for r in active if r not in placed)
            raise DeployError(f"circular dependency between resources: {', '.join(cycle)}")
        order.extend(ready)
        placed.update(ready)
    return order


def _explain(error: Exception, provisioner: Provisioner, endpoints: Endpoints) -> str:
    service = provisioner.service or "local"
    url = endpoints.url_for(service) if provisioner.service else None
    where = f"{service} at {url or 'AWS'}"
    if isinstance(error, EndpointConnectionError):
        return f"{where} is not reachable: {error}"
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("InvalidAction", "UnknownOperationException", "NotImplemented", "InternalFailure") or status in (501,):
            return f"{where} does not provide this API ({code}): {error}"
        return f"{where} refused it: {error}"
    return f"{where}: {error}"


def _account_id(endpoints: Endpoints) -> str:
    try:
        return str(endpoints.client("sts").get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as error:
        raise DeployError(f"sts at {endpoints.url_for('sts') or 'AWS'} did not say which account this is: {error}") from error


def _ssm_lookup(endpoints: Endpoints) -> Any:
    def lookup(name: str) -> str:
        try:
            return str(endpoints.client("ssm").get_parameter(Name=name)["Parameter"]["Value"])
        except (ClientError, BotoCoreError) as error:
            raise DeployError(f"SSM parameter {name!r} (for a parameter of type AWS::SSM::Parameter::Value) not readable: {error}") from error

    return lookup


def _queue_url_lookup(ctx: Context) -> Any:
    """A queue's URL from its ARN: from this stack's resources, else from SQS (a queue made elsewhere)."""

    def lookup(arn: str) -> str:
        resource = ctx.resource_by_attribute("Arn", arn)
        if resource is not None and resource.type == "AWS::SQS::Queue":
            return resource.physical_id
        _, _, _, _, account, name = arn.split(":", 5)
        try:
            return str(ctx.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
        except ClientError as error:
            raise DeployError(f"event source queue {arn} does not exist: {error}") from error

    return lookup
