"""Which stack the replay, record and DLQ tools act on, and where its resources are.

The same tool must work against the local cloud started by `orderflow up` and against a stack
deployed with `sam deploy`. Both are reduced here to one `StackTarget`: logical ids mapped to
physical ids, plus the `Endpoints` to reach them. For the local cloud the Lambda endpoint is the
runtime's gateway (it serves the Lambda Invoke API), so `lambda.invoke` is the same call in both
cases and no tool has an `if local:` branch.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.cli import CliError
from localcloud.emulator import Endpoints
from localcloud.model import DEFAULT_REGION, DeployedStack

QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
BUCKET = "AWS::S3::Bucket"
TABLE = "AWS::DynamoDB::Table"
FUNCTION = "AWS::Lambda::Function"
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"

DEFAULT_STATE_FILE = Path(".orderflow/state.json")


class TargetError(CliError):
    """The stack, or a resource named on the command line, cannot be found (the CLI prints it without a traceback)."""


@dataclass(frozen=True)
class StackResource:
    logical_id: str
    type: str
    physical_id: str


@dataclass(frozen=True)
class StackTarget:
    """A stack's resources and the endpoints that reach them.

    `functions` maps logical id to physical function name. `failure_destinations` maps a queue
    ARN to the functions/sources whose Lambda OnFailure destination it is (a stream mapping or an
    async invoke config): those queues are dead-letter queues without an SQS redrive policy.
    `queue_consumers` maps a queue ARN to the functions its SQS event source mappings invoke.
    """

    stack_name: str
    endpoints: Endpoints
    resources: Mapping[str, StackResource]
    functions: Mapping[str, str] = field(default_factory=dict)
    failure_destinations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    queue_consumers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def client(self, service: str, **config: Any) -> Any:
        return self.endpoints.client(service, **config)

    def of_type(self, resource_type: str) -> list[StackResource]:
        return sorted((r for r in self.resources.values() if r.type == resource_type), key=lambda r: r.logical_id)

    def physical_id(self, logical_id: str, resource_type: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None or resource.type != resource_type:
            known = ", ".join(r.logical_id for r in self.of_type(resource_type)) or "none"
            raise TargetError(f"stack {self.stack_name!r} has no {resource_type} {logical_id!r} (known: {known})")
        return resource.physical_id

    def queue_url(self, name: str) -> str:
        """A queue by logical id, queue name, URL or ARN; only the stack's own queues are accepted."""
        for resource in self.of_type(QUEUE):
            url = resource.physical_id
            queue_name = url.rsplit("/", 1)[-1]
            if name in (resource.logical_id, url, queue_name) or name.endswith(":" + queue_name):
                return url
        known = ", ".join(r.logical_id for r in self.of_type(QUEUE)) or "none"
        raise TargetError(f"stack {self.stack_name!r} has no queue {name!r} (known: {known})")

    def logical_id_of(self, physical_id: str) -> str:
        for resource in self.resources.values():
            if resource.physical_id == physical_id:
                return resource.logical_id
        return physical_id

    def function_name(self, name: str) -> str:
        """A function by logical id, physical name or ARN."""
        for logical_id, physical in self.functions.items():
            if name in (logical_id, physical) or name.endswith(":function:" + physical):
                return physical
        known = ", ".join(sorted(self.functions)) or "none"
        raise TargetError(f"stack {self.stack_name!r} has no function {name!r} (known: {known})")

    def function_logical_id(self, name: str) -> str:
        physical = self.function_name(name)
        return next(logical for logical, p in self.functions.items() if p == physical)


def from_deployed_stack(stack: DeployedStack, endpoints: Endpoints, *, lambda_url: str | None = None) -> StackTarget:
    """The target for a stack the local deployer produced; `lambda_url` is the runtime gateway's URL."""
    return from_state(
        {
            "api_url": lambda_url,
            "stack_name": stack.stack_name,
            "endpoints": {"default": endpoints.default, "per_service": dict(endpoints.per_service), "region": endpoints.region},
            "stack": json.loads(json.dumps(dataclasses.asdict(stack), default=str)),
        }
    )


def from_cloudformation(stack_name: str, endpoints: Endpoints) -> StackTarget:
    """The target for a stack deployed with `sam deploy`, found with the standard credential chain."""
    cfn = endpoints.client("cloudformation")
    try:
        cfn.describe_stacks(StackName=stack_name)
    except cfn.exceptions.ClientError as exc:
        raise TargetError(f"stack {stack_name!r} not found: {exc}") from exc
    resources: dict[str, StackResource] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for summary in page["StackResourceSummaries"]:
            if summary.get("PhysicalResourceId"):
                resources[summary["LogicalResourceId"]] = StackResource(
                    summary["LogicalResourceId"], summary["ResourceType"], summary["PhysicalResourceId"]
                )
    functions = {r.logical_id: r.physical_id for r in resources.values() if r.type == FUNCTION}
    destinations, consumers = _deployed_wiring(endpoints, resources.values(), functions)
    return StackTarget(
        stack_name=stack_name,
        endpoints=endpoints,
        resources=resources,
        functions=functions,
        failure_destinations=destinations,
        queue_consumers=consumers,
    )


def _deployed_wiring(
    endpoints: Endpoints, resources: Iterable[StackResource], functions: Mapping[str, str]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """OnFailure destinations and queue consumers, read from Lambda itself (the template may build them with intrinsics)."""
    lam = endpoints.client("lambda")
    by_name = {physical: logical for logical, physical in functions.items()}
    destinations: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for resource in resources:
        if resource.type != EVENT_SOURCE_MAPPING:
            continue
        mapping = lam.get_event_source_mapping(UUID=resource.physical_id)
        function = mapping["FunctionArn"].rsplit(":function:", 1)[-1].split(":")[0]
        logical_id = by_name.get(function, function)
        if mapping.get("EventSourceArn", "").split(":")[2:3] == ["sqs"]:
            consumers.setdefault(mapping["EventSourceArn"], []).append(logical_id)
        arn = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if arn:
            destinations.setdefault(arn, []).append(f"{logical_id} stream OnFailure")
    for logical_id, physical in functions.items():
        try:
            config = lam.get_function_event_invoke_config(FunctionName=physical)
        except lam.exceptions.ResourceNotFoundException:
            continue
        arn = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if arn:
            destinations.setdefault(arn, []).append(f"{logical_id} async OnFailure")
    return (
        {arn: tuple(sources) for arn, sources in destinations.items()},
        {arn: tuple(functions) for arn, functions in consumers.items()},
    )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every tool shares to say which stack it acts on."""
    group = parser.add_argument_group("target")
    group.add_argument(
        "--stack-name",
        help="a stack deployed with `sam deploy` (standard AWS credential chain); default: the running `orderflow up`",
    )
    group.add_argument("--endpoint-url", help="AWS endpoint for --stack-name (default: AWS_ENDPOINT_URL or real AWS)")
    group.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help="the running local cloud's state file")


def target_from_args(args: argparse.Namespace) -> StackTarget:
    if args.stack_name:
        return from_cloudformation(args.stack_name, Endpoints.from_environment(args.endpoint_url))
    return from_state_file(args.state_file)


def from_state_file(path: Path) -> StackTarget:
    """The running local cloud, as `orderflow up` describes it in its state file."""
    if not path.exists():
        raise TargetError(f"no local cloud is running ({path} not found): start one with `orderflow up`, or pass --stack-name")
    state = json.loads(path.read_text())
    pid = state.get("pid")
    if pid and not process_alive(int(pid)):
        raise TargetError(f"the local cloud in {path} (pid {pid}) is not running: start one with `orderflow up`")
    return from_state(state)


def from_state(state: Mapping[str, Any]) -> StackTarget:
    """The target described by `orderflow up`'s state: endpoints, api_url and the DeployedStack as JSON."""
    e = state["endpoints"]
    per_service = dict(e.get("per_service") or {})
    if state.get("api_url"):
        per_service["lambda"] = state["api_url"]  # the runtime gateway serves the Lambda Invoke API
    stack = state["stack"]
    destinations: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for logical_id, spec in stack["functions"].items():
        for source in spec.get("sqs_sources") or ():
            consumers.setdefault(source["queue_arn"], []).append(logical_id)
        for source in spec.get("stream_sources") or ():
            if source.get("on_failure_arn"):
                destinations.setdefault(source["on_failure_arn"], []).append(f"{logical_id} stream OnFailure")
        on_failure = (spec.get("async_config") or {}).get("on_failure_arn")
        if on_failure:
            destinations.setdefault(on_failure, []).append(f"{logical_id} async OnFailure")
    return StackTarget(
        stack_name=stack.get("stack_name") or state.get("stack_name", ""),
        endpoints=Endpoints(default=e.get("default"), per_service=per_service, region=e.get("region") or DEFAULT_REGION),
        resources={lid: StackResource(lid, r["type"], r["physical_id"]) for lid, r in stack["resources"].items()},
        functions={lid: spec["function_name"] for lid, spec in stack["functions"].items()},
        failure_destinations={arn: tuple(s) for arn, s in destinations.items()},
        queue_consumers={arn: tuple(f) for arn, f in consumers.items()},
    )


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
