"""Resources the local runtime plays, not the emulator: Lambda, API Gateway, EventBridge schedules.

They are never created in the emulator (moto's Lambda needs Docker and its event source
mappings lose messages); recording them gives `Ref`/`GetAtt` the values AWS would return, and
their resolved properties become the FunctionSpecs the runtime runs. Each type lists the
properties it accepts; the deployer refuses any other by name before anything is created.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, provisioner
from localcloud.runtime.event_sources import rules

# What a function may declare: what the runtime runs, and what has no local effect (Role: IAM is not
# enforced; Architectures, Tags, Description, KmsKeyArn, LoggingConfig). Anything else (VpcConfig,
# DeadLetterConfig, FileSystemConfigs, SnapStart, ...) changes behaviour on AWS and is refused.
_FUNCTION = (
    "FunctionName Handler Runtime Code Timeout MemorySize Environment ReservedConcurrentExecutions Role "
    "TracingConfig Layers PackageType Architectures Tags Description KmsKeyArn LoggingConfig"
)


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


@provisioner("AWS::Lambda::Function", None, _FUNCTION)
def function(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    name = function_name(ctx, logical_id, props)
    return _recorded(name, {"Arn": ctx.arn("lambda", f"function:{name}")})


def _function_arn(ctx: Context, reference: str) -> str:
    return ctx.arn("lambda", f"function:{bare_function_name(reference)}")


@provisioner("AWS::Lambda::Version", None, "FunctionName Description CodeSha256 ProvisionedConcurrencyConfig")
def version(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn = f"{_function_arn(ctx, props['FunctionName'])}:1"
    return _recorded(arn, {"Version": "1", "FunctionArn": arn})


@provisioner("AWS::Lambda::Alias", None, "FunctionName FunctionVersion Name Description ProvisionedConcurrencyConfig")
def alias(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn = f"{_function_arn(ctx, props['FunctionName'])}:{props['Name']}"
    return _recorded(arn, {"AliasArn": arn})


@provisioner("AWS::Lambda::Url", None, "TargetFunctionArn AuthType Cors InvokeMode Qualifier")
def function_url(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn = _function_arn(ctx, props["TargetFunctionArn"])
    url = f"https://{short_id(ctx, logical_id, 32)}.lambda-url.{ctx.region}.on.aws/"
    return _recorded(arn, {"FunctionArn": arn, "FunctionUrl": url})


@provisioner("AWS::Lambda::EventSourceMapping", None, " ".join(sorted(rules.SQS_PROPERTIES | rules.STREAM_PROPERTIES)))
def event_source_mapping(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud:{ctx.stack_name}/{logical_id}"))
    return _recorded(mapping_id, {"Id": mapping_id, "EventSourceMappingArn": ctx.arn("lambda", f"event-source-mapping:{mapping_id}")})


def _named(type_: str, properties: str) -> Any:
    @provisioner(type_, None, properties)
    def record(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
        return _recorded(ctx.name(logical_id))

    return record


def _api_id(type_: str, attribute: str, properties: str) -> Any:
    @provisioner(type_, None, properties)
    def record(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
        return _recorded(short_id(ctx, logical_id), {attribute: short_id(ctx, logical_id)} if attribute else {})

    return record


@provisioner("AWS::ApiGatewayV2::Api", None, "Name Description ProtocolType Body BodyS3Location Target RouteKey CorsConfiguration DisableExecuteApiEndpoint Tags Version")
def http_api(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    api_id = short_id(ctx, logical_id)
    endpoint = f"https://{api_id}.execute-api.{ctx.region}.amazonaws.com"
    return _recorded(api_id, {"ApiId": api_id, "ApiEndpoint": endpoint})


@provisioner("AWS::ApiGateway::RestApi", None, "Name Description Body BodyS3Location EndpointConfiguration BinaryMediaTypes DisableExecuteApiEndpoint Policy Tags")
def rest_api(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    api_id = short_id(ctx, logical_id)
    return _recorded(api_id, {"RestApiId": api_id, "RootResourceId": short_id(ctx, f"{logical_id}/root")})


@provisioner("AWS::ApiGateway::Stage", None, "RestApiId StageName DeploymentId Description MethodSettings AccessLogSetting TracingEnabled Variables Tags")
def rest_stage(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    return _recorded(str(props.get("StageName", logical_id)))


@provisioner("AWS::Events::Rule", None, "Name Description ScheduleExpression EventPattern EventBusName State Targets RoleArn")
def rule(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    name = ctx.name(logical_id, props.get("Name"), max_len=64)
    bus = props.get("EventBusName", "default")
    path = f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"
    return _recorded(name, {"Arn": ctx.arn("events", path)})


@provisioner("AWS::Scheduler::Schedule", None, "Name Description GroupName ScheduleExpression ScheduleExpressionTimezone FlexibleTimeWindow State Target")
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
    _named("AWS::Lambda::Permission", "Action FunctionName Principal SourceArn SourceAccount EventSourceToken PrincipalOrgID FunctionUrlAuthType InvokedViaFunctionUrl"),
    _named("AWS::Lambda::EventInvokeConfig", "FunctionName Qualifier MaximumRetryAttempts MaximumEventAgeInSeconds DestinationConfig"),
    http_api,
    _api_id("AWS::ApiGatewayV2::Stage", "", "ApiId StageName AutoDeploy DeploymentId Description AccessLogSettings DefaultRouteSettings RouteSettings StageVariables Tags"),
    _api_id("AWS::ApiGatewayV2::Route", "RouteId", "ApiId RouteKey Target AuthorizationType AuthorizerId AuthorizationScopes OperationName ApiKeyRequired"),
    _api_id("AWS::ApiGatewayV2::Integration", "IntegrationId", "ApiId IntegrationType IntegrationUri IntegrationMethod PayloadFormatVersion TimeoutInMillis Description"),
    _api_id("AWS::ApiGatewayV2::Authorizer", "AuthorizerId", "ApiId AuthorizerType IdentitySource JwtConfiguration Name AuthorizerUri AuthorizerPayloadFormatVersion EnableSimpleResponses AuthorizerResultTtlInSeconds"),
    rest_api,
    rest_stage,
    _api_id("AWS::ApiGateway::Deployment", "DeploymentId", "RestApiId Description StageName StageDescription"),
    _api_id("AWS::ApiGateway::Resource", "ResourceId", "RestApiId ParentId PathPart"),
    _api_id("AWS::ApiGateway::Method", "", "RestApiId ResourceId HttpMethod AuthorizationType AuthorizerId Integration MethodResponses RequestParameters ApiKeyRequired OperationName"),
    _api_id("AWS::ApiGateway::Authorizer", "AuthorizerId", "RestApiId Name Type AuthorizerUri IdentitySource ProviderARNs AuthorizerResultTtlInSeconds"),
    rule,
    schedule,
)
