"""Resources the local runtime plays, not the emulator: Lambda, API Gateway, EventBridge schedules.

They are never created in the emulator (moto's Lambda needs Docker and its event source
mappings lose messages); recording them gives `Ref`/`GetAtt` the values AWS would return, and
their resolved properties become the FunctionSpecs the runtime runs.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, provisioner


def short_id(ctx: Context, logical_id: str, length: int = 10) -> str:
    """API Gateway style ids (10 lower-case alphanumerics), stable across redeploys of the same stack."""
    digest = hashlib.sha256(f"{ctx.stack_name}/{logical_id}".encode()).hexdigest()
    return digest[:length]


def function_name(ctx: Context, logical_id: str, props: dict[str, Any]) -> str:
    return ctx.name(logical_id, props.get("FunctionName"), max_len=64)


def bare_function_name(reference: str) -> str:
    """`name`, `name:alias`, a partial `account:function:name` or a full ARN -> `name`."""
    if ":function:" in reference:
        reference = reference.split(":function:", 1)[1]
    return reference.split(":", 1)[0]


def _recorded(physical_id: str, attributes: dict[str, Any] | None = None) -> Outcome:
    return Outcome(physical_id, attributes or {}, "recorded")


@provisioner("AWS::Lambda::Function", None, None)
def function(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    name = function_name(ctx, logical_id, props)
    return _recorded(name, {"Arn": ctx.arn("lambda", f"function:{name}")})


def _function_arn(ctx: Context, reference: str) -> str:
    return ctx.arn("lambda", f"function:{bare_function_name(reference)}")


@provisioner("AWS::Lambda::Version", None, None)
def version(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn = f"{_function_arn(ctx, props['FunctionName'])}:1"
    return _recorded(arn, {"Version": "1", "FunctionArn": arn})


@provisioner("AWS::Lambda::Alias", None, None)
def alias(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn = f"{_function_arn(ctx, props['FunctionName'])}:{props['Name']}"
    return _recorded(arn, {"AliasArn": arn})


@provisioner("AWS::Lambda::Url", None, None)
def function_url(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn = _function_arn(ctx, props["TargetFunctionArn"])
    url = f"https://{short_id(ctx, logical_id, 32)}.lambda-url.{ctx.region}.on.aws/"
    return _recorded(arn, {"FunctionArn": arn, "FunctionUrl": url})


@provisioner("AWS::Lambda::EventSourceMapping", None, None)
def event_source_mapping(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud:{ctx.stack_name}/{logical_id}"))
    return _recorded(mapping_id, {"Id": mapping_id, "EventSourceMappingArn": ctx.arn("lambda", f"event-source-mapping:{mapping_id}")})


def _named(type_: str) -> Any:
    @provisioner(type_, None, None)
    def record(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
        return _recorded(ctx.name(logical_id))

    return record


def _api_id(type_: str, attribute: str) -> Any:
    @provisioner(type_, None, None)
    def record(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
        return _recorded(short_id(ctx, logical_id), {attribute: short_id(ctx, logical_id)} if attribute else {})

    return record


@provisioner("AWS::ApiGatewayV2::Api", None, None)
def http_api(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    api_id = short_id(ctx, logical_id)
    endpoint = f"https://{api_id}.execute-api.{ctx.region}.amazonaws.com"
    return _recorded(api_id, {"ApiId": api_id, "ApiEndpoint": endpoint})


@provisioner("AWS::ApiGateway::RestApi", None, None)
def rest_api(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    api_id = short_id(ctx, logical_id)
    return _recorded(api_id, {"RestApiId": api_id, "RootResourceId": short_id(ctx, f"{logical_id}/root")})


@provisioner("AWS::ApiGateway::Stage", None, None)
def rest_stage(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    return _recorded(str(props.get("StageName", logical_id)))


@provisioner("AWS::Events::Rule", None, None)
def rule(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    name = ctx.name(logical_id, props.get("Name"), max_len=64)
    bus = props.get("EventBusName", "default")
    path = f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"
    return _recorded(name, {"Arn": ctx.arn("events", path)})


@provisioner("AWS::Scheduler::Schedule", None, None)
def schedule(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    name = ctx.name(logical_id, props.get("Name"), max_len=64)
    group = props.get("GroupName", "default")
    return _recorded(name, {"Arn": ctx.arn("scheduler", f"schedule/{group}/{name}")})


PROVISIONERS = (
    function,
    version,
    alias,
    function_url,
    event_source_mapping,
    _named("AWS::Lambda::Permission"),
    _named("AWS::Lambda::EventInvokeConfig"),
    http_api,
    _api_id("AWS::ApiGatewayV2::Stage", ""),
    _api_id("AWS::ApiGatewayV2::Route", "RouteId"),
    _api_id("AWS::ApiGatewayV2::Integration", "IntegrationId"),
    _api_id("AWS::ApiGatewayV2::Authorizer", "AuthorizerId"),
    rest_api,
    rest_stage,
    _api_id("AWS::ApiGateway::Deployment", "DeploymentId"),
    _api_id("AWS::ApiGateway::Resource", "ResourceId"),
    _api_id("AWS::ApiGateway::Method", ""),
    _api_id("AWS::ApiGateway::Authorizer", "AuthorizerId"),
    rule,
    schedule,
)
