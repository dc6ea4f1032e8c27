"""From recorded Lambda, API Gateway and EventBridge resources to the FunctionSpecs the runtime runs.

This is where the template's wiring becomes behaviour: an event source mapping becomes a
poller configuration with AWS's defaults, an API body becomes routes, a schedule rule becomes
a timer. Anything that would make a function behave differently here than on AWS and that we
cannot express is refused with its logical id, never dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.deploy.errors import TemplateError
from localcloud.deploy.provisioners.recorded import bare_function_name
from localcloud.deploy.template import CODE_BUCKET
from localcloud.model import (
    AsyncInvokeConfig,
    FunctionSpec,
    HttpRoute,
    JwtAuthorizer,
    Resource,
    ScheduleSource,
    SqsEventSource,
    StreamEventSource,
)
from localcloud.runtime.event_sources import rules

_INVOCATION_URI = re.compile(r"functions/(?P<arn>arn:[^/]+)/invocations")


@dataclass(frozen=True)
class Declared:
    """A deployed resource with the properties it was deployed with (intrinsics resolved)."""

    resource: Resource
    properties: dict[str, Any]


def build_functions(
    declared: Mapping[str, Declared],
    code_dirs: Mapping[str, Path],
    inline_code_dir: Path,
    queue_url_for: Callable[[str], str],
) -> tuple[dict[str, FunctionSpec], dict[str, str]]:
    """(function specs by logical id, notes by logical id for the report)."""
    by_name = {
        d.resource.physical_id: logical_id
        for logical_id, d in declared.items()
        if d.resource.type == "AWS::Lambda::Function"
    }
    problems: list[str] = []
    notes: dict[str, str] = {}

    def owner(reference: str, where: str) -> str | None:
        logical_id = by_name.get(bare_function_name(reference))
        if logical_id is None:
            problems.append(f"{where}: function {reference!r} is not in this stack")
        return logical_id

    sqs: dict[str, list[SqsEventSource]] = {}
    streams: dict[str, list[StreamEventSource]] = {}
    routes: dict[str, list[HttpRoute]] = {}
    schedules: dict[str, list[ScheduleSource]] = {}
    async_configs: dict[str, AsyncInvokeConfig] = {}

    for logical_id, d in declared.items():
        kind, props = d.resource.type, d.properties
        if kind == "AWS::Lambda::EventSourceMapping":
            target = owner(props["FunctionName"], logical_id)
            source_arn = str(props.get("EventSourceArn", ""))
            if target is None:
                continue
            where = f"{logical_id} (AWS::Lambda::EventSourceMapping)"
            try:
                if ":sqs:" in source_arn:
                    sqs.setdefault(target, []).append(rules.sqs_mapping(logical_id, props, queue_url_for(source_arn)))
                elif ":dynamodb:" in source_arn and "/stream/" in source_arn:
                    streams.setdefault(target, []).append(rules.stream_mapping(logical_id, d.resource.physical_id, props))
                else:
                    problems.append(f"{where}: EventSourceArn: {source_arn!r} is not supported locally (SQS and DynamoDB streams are)")
            except rules.InvalidMapping as invalid:
                problems.extend(f"{where}: {r.property}: {r.message}" for r in invalid.refusals)
        elif kind == "AWS::Lambda::EventInvokeConfig":
            target = owner(props["FunctionName"], logical_id)
            if target is not None:
                async_configs[target] = _async_config(props)
        elif kind == "AWS::Events::Rule":
            _rule_schedules(logical_id, props, owner, schedules, problems)
        elif kind == "AWS::Scheduler::Schedule":
            target_arn = props.get("Target", {}).get("Arn", "")
            target = owner(target_arn, logical_id)
            if target is not None:
                schedules.setdefault(target, []).append(
                    ScheduleSource(
                        logical_id,
                        props["ScheduleExpression"],
                        props["Target"].get("Input"),
                        props.get("State", "ENABLED") != "DISABLED",
                    )
                )
    for api_route, target in _http_routes(declared, problems):
        routes.setdefault(target, []).append(api_route)

    specs: dict[str, FunctionSpec] = {}
    for name, logical_id in by_name.items():
        d = declared[logical_id]
        spec = _function_spec(logical_id, d, code_dirs, inline_code_dir, problems, notes)
        if spec is None:
            continue
        specs[logical_id] = FunctionSpec(
            **{
                **spec,
                "sqs_sources": tuple(sqs.get(logical_id, ())),
                "stream_sources": tuple(streams.get(logical_id, ())),
                "http_routes": tuple(routes.get(logical_id, ())),
                "schedules": tuple(schedules.get(logical_id, ())),
                "async_config": async_configs.get(logical_id, AsyncInvokeConfig()),
            }
        )
    if problems:
        raise TemplateError("cannot run these functions locally:\n  " + "\n  ".join(problems))
    return specs, notes


def _function_spec(
    logical_id: str,
    d: Declared,
    code_dirs: Mapping[str, Path],
    inline_code_dir: Path,
    problems: list[str],
    notes: dict[str, str],
) -> dict[str, Any] | None:
    props = d.properties
    where = f"{logical_id} (AWS::Lambda::Function)"
    if props.get("PackageType") == "Image":
        problems.append(f"{where}: container image functions need Docker")
        return None
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith("python3"):
        problems.append(f"{where}: runtime {runtime!r} is not supported locally (python3.x only)")
        return None
    code = props.get("Code", {})
    if code.get("S3Bucket") == CODE_BUCKET:
        code_dir = code_dirs[str(code["S3Key"])]
    elif "ZipFile" in code:
        code_dir = inline_code_dir / logical_id
        code_dir.mkdir(parents=True, exist_ok=True)
        module = str(props["Handler"]).rsplit(".", 1)[0]
        (code_dir / f"{module.replace('.', '/')}.py").write_text(code["ZipFile"])
    else:
        problems.append(f"{where}: code {code!r} is not a local path or inline code")
        return None
    if props.get("Layers"):
        notes[logical_id] = f"layers not loaded locally (the venv provides dependencies): {', '.join(map(str, props['Layers']))}"
    variables = (props.get("Environment") or {}).get("Variables") or {}
    return {
        "logical_id": logical_id,
        "function_name": d.resource.physical_id,
        "arn": d.resource.attributes["Arn"],
        "handler": str(props["Handler"]),
        "runtime": runtime,
        "code_dir": code_dir,
        "timeout_s": int(props.get("Timeout", 3)),
        "memory_mb": int(props.get("MemorySize", 128)),
        "environment": {str(k): _env_value(v) for k, v in variables.items()},
        "reserved_concurrency": int(props["ReservedConcurrentExecutions"]) if "ReservedConcurrentExecutions" in props else None,
        "tracing": (props.get("TracingConfig") or {}).get("Mode", "PassThrough"),
    }


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _async_config(props: dict[str, Any]) -> AsyncInvokeConfig:
    """Only what the template says; AsyncInvokeConfig's own defaults are AWS's for the rest."""
    destinations = props.get("DestinationConfig") or {}
    given: dict[str, Any] = {
        "maximum_retry_attempts": props.get("MaximumRetryAttempts"),
        "maximum_event_age_s": props.get("MaximumEventAgeInSeconds"),
        "on_success_arn": (destinations.get("OnSuccess") or {}).get("Destination"),
        "on_failure_arn": (destinations.get("OnFailure") or {}).get("Destination"),
    }
    return AsyncInvokeConfig(**{k: int(v) if k.startswith("maximum") else v for k, v in given.items() if v is not None})


def _rule_schedules(
    logical_id: str,
    props: dict[str, Any],
    owner: Callable[[str, str], str | None],
    schedules: dict[str, list[ScheduleSource]],
    problems: list[str],
) -> None:
    lambda_targets = [t for t in props.get("Targets", []) if ":lambda:" in str(t.get("Arn", ""))]
    if not lambda_targets:
        return
    if "ScheduleExpression" not in props:
        problems.append(f"{logical_id} (AWS::Events::Rule): event-pattern rules are not delivered locally (schedules are)")
        return
    for target in lambda_targets:
        function = owner(target["Arn"], logical_id)
        if function is not None:
            schedules.setdefault(function, []).append(
                ScheduleSource(logical_id, props["ScheduleExpression"], target.get("Input"), props.get("State", "ENABLED") != "DISABLED")
            )


# -- HTTP APIs ---------------------------------------------------------------------------------

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}


def _function_arn_from_uri(uri: Any) -> str | None:
    text = str(uri)
    match = _INVOCATION_URI.search(text)
    if match:
        return match.group("arn")
    return text if ":lambda:" in text and ":function:" in text else None


def _http_routes(declared: Mapping[str, Declared], problems: list[str]) -> list[tuple[HttpRoute, str]]:
    by_arn = {
        bare_function_name(d.resource.attributes["Arn"]): logical_id
        for logical_id, d in declared.items()
        if d.resource.type == "AWS::Lambda::Function"
    }
    stages = _stages(declared)
    found: list[tuple[HttpRoute, str]] = []

    def add(api: str, method: str, path: str, uri: Any, payload: str, where: str, **auth: Any) -> None:
        arn = _function_arn_from_uri(uri)
        if arn is None:
            return  # an HTTP/mock integration: not a function's route
        target = by_arn.get(bare_function_name(arn))
        if target is None:
            problems.append(f"{where}: route {method} {path} targets {arn!r}, not a function of this stack")
            return
        default_stage = "$default" if payload == "2.0" or declared[api].resource.type == "AWS::ApiGatewayV2::Api" else "Prod"
        found.append((HttpRoute(api, method, path, payload, stages.get(api, default_stage), **auth), target))  # type: ignore[arg-type]

    for api, d in declared.items():
        kind, props = d.resource.type, d.properties
        if kind not in ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"):
            continue
        default_payload = "2.0" if kind == "AWS::ApiGatewayV2::Api" else "1.0"
        for path, operations in ((props.get("Body") or {}).get("paths") or {}).items():
            for method, operation in operations.items():
                if method.lower() not in _METHODS or not isinstance(operation, dict):
                    continue
                integration = operation.get("x-amazon-apigateway-integration") or {}
                verb = "ANY" if method.lower() == "x-amazon-apigateway-any-method" else method.upper()
                payload = str(integration.get("payloadFormatVersion", default_payload))
                add(api, verb, path, integration.get("uri", ""), payload, api)
        if kind == "AWS::ApiGatewayV2::Api" and props.get("Target"):
            add(api, "ANY", "/{proxy+}", props["Target"], "2.0", api)

    integrations = {d.resource.physical_id: d.properties for d in declared.values() if d.resource.type == "AWS::ApiGatewayV2::Integration"}
    authorizers = {d.resource.physical_id: (logical_id, d.properties) for logical_id, d in declared.items() if d.resource.type == "AWS::ApiGatewayV2::Authorizer"}
    apis = {d.resource.physical_id: logical_id for logical_id, d in declared.items() if d.resource.type == "AWS::ApiGatewayV2::Api"}
    for logical_id, d in declared.items():
        if d.resource.type != "AWS::ApiGatewayV2::Route":
            continue
        props = d.properties
        target = str(props.get("Target", ""))
        integration = integrations.get(target.removeprefix("integrations/"))
        if integration is None or props["ApiId"] not in apis:
            problems.append(f"{logical_id} (AWS::ApiGatewayV2::Route): target {target!r} is not an integration of this stack")
            continue
        route_key = str(props["RouteKey"])
        method, path = ("ANY", "/{proxy+}") if route_key == "$default" else route_key.split(" ", 1)
        auth = _route_auth(logical_id, props, authorizers, problems)
        add(apis[props["ApiId"]], method, path, integration.get("IntegrationUri", ""), str(integration.get("PayloadFormatVersion", "2.0")), logical_id, **auth)
    found += _rest_method_routes(declared, stages, by_arn, problems)
    return found


def _route_auth(
    logical_id: str, props: Mapping[str, Any], authorizers: Mapping[str, tuple[str, Mapping[str, Any]]], problems: list[str]
) -> dict[str, Any]:
    """A JWT route's authorizer and scopes, which the local gateway enforces (runtime/jwt_authorizer.py)."""
    if props.get("AuthorizationType") != "JWT":
        return {}
    found = authorizers.get(str(props.get("AuthorizerId")))
    if found is None:
        problems.append(f"{logical_id} (AWS::ApiGatewayV2::Route): AuthorizerId {props.get('AuthorizerId')!r} is not an authorizer of this stack")
        return {}
    authorizer_id, authorizer = found
    config = authorizer.get("JwtConfiguration") or {}
    sources = authorizer.get("IdentitySource") or ["$request.header.Authorization"]
    header = str(sources[0])
    if len(sources) != 1 or not header.startswith("$request.header."):
        problems.append(f"{authorizer_id} (AWS::ApiGatewayV2::Authorizer): IdentitySource {sources!r}: only one $request.header.<name> is supported locally")
        return {}
    audience = config.get("Audience") or []
    jwt = JwtAuthorizer(str(config.get("Issuer", "")), tuple(str(a) for a in audience), header.removeprefix("$request.header.").lower())
    return {"authorizer": jwt, "scopes": tuple(str(s) for s in props.get("AuthorizationScopes") or ())}


def _stages(declared: Mapping[str, Declared]) -> dict[str, str]:
    """Stage name per API logical id (an HTTP API's `$default` wins over named stages)."""
    api_by_id = {
        d.resource.physical_id: logical_id
        for logical_id, d in declared.items()
        if d.resource.type in ("AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi")
    }
    stages: dict[str, str] = {}
    for d in declared.values():
        api_id = d.properties.get("ApiId") or d.properties.get("RestApiId")
        if d.resource.type in ("AWS::ApiGatewayV2::Stage", "AWS::ApiGateway::Stage") and api_id in api_by_id:
            api = api_by_id[api_id]
            if stages.get(api) != "$default":
                stages[api] = str(d.properties.get("StageName", "$default"))
    return stages


def _rest_method_routes(
    declared: Mapping[str, Declared], stages: dict[str, str], by_arn: dict[str, str], problems: list[str]
) -> list[tuple[HttpRoute, str]]:
    """REST APIs declared as Resource + Method resources rather than a Body."""
    resources = {d.resource.physical_id: d.properties for d in declared.values() if d.resource.type == "AWS::ApiGateway::Resource"}
    apis = {d.resource.physical_id: (logical_id, d.resource.attributes) for logical_id, d in declared.items() if d.resource.type == "AWS::ApiGateway::RestApi"}
    found = []
    for logical_id, d in declared.items():
        if d.resource.type != "AWS::ApiGateway::Method":
            continue
        props = d.properties
        api = apis.get(props.get("RestApiId"))
        integration = props.get("Integration") or {}
        arn = _function_arn_from_uri(integration.get("Uri", ""))
        if api is None or arn is None:
            continue
        parts: list[str] = []
        resource_id = props.get("ResourceId")
        while resource_id in resources:
            parts.insert(0, str(resources[resource_id]["PathPart"]))
            resource_id = resources[resource_id].get("ParentId")
        target = by_arn.get(bare_function_name(arn))
        if target is None:
            problems.append(f"{logical_id} (AWS::ApiGateway::Method): targets {arn!r}, not a function of this stack")
            continue
        method = str(props["HttpMethod"]).upper()
        route = HttpRoute(api[0], method, "/" + "/".join(parts), "1.0", stages.get(api[0], "Prod"))
        found.append((route, target))
    return found
