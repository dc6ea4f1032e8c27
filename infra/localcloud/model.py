"""What a deployed stack is, as the runtime needs to see it.

The deployer turns `template.yaml` into a `DeployedStack`; the runtime, the CLI and the
tests only ever read this model. Keeping it plain data (no boto3, no threads) is what lets
the deployer and the runtime change independently, and lets tests build a stack by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Resource:
    """One provisioned (or recorded) resource: what `Ref` and `Fn::GetAtt` resolve to."""

    logical_id: str
    type: str
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SqsEventSource:
    """An `AWS::Lambda::EventSourceMapping` on an SQS queue; AWS's defaults and limits are
    `runtime/event_sources/rules.py`'s (build one with `rules.sqs_source`)."""

    logical_id: str
    queue_arn: str
    queue_url: str
    batch_size: int
    maximum_batching_window_s: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None
    filter_patterns: tuple[dict[str, Any], ...]
    enabled: bool

    @property
    def fifo(self) -> bool:
        return self.queue_arn.endswith(".fifo")


@dataclass(frozen=True)
class StreamEventSource:
    """An `AWS::Lambda::EventSourceMapping` on a DynamoDB stream; AWS's defaults and limits are
    `runtime/event_sources/rules.py`'s (build one with `rules.stream_source`)."""

    logical_id: str
    mapping_id: str  # the mapping's UUID, as AWS names it in an S3 on-failure object's key
    stream_arn: str
    starting_position: Literal["TRIM_HORIZON", "LATEST"]
    batch_size: int
    maximum_batching_window_s: int
    bisect_batch_on_function_error: bool
    maximum_retry_attempts: int  # -1: retry until the record expires, as AWS does
    maximum_record_age_s: int
    on_failure_arn: str | None
    report_batch_item_failures: bool
    filter_patterns: tuple[dict[str, Any], ...]
    parallelization_factor: int  # concurrent batches per shard, in order per partition key
    enabled: bool


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API's JWT authorizer (AWS::ApiGatewayV2::Authorizer, AuthorizerType JWT)."""

    issuer: str
    audience: tuple[str, ...]
    identity_header: str = "authorization"  # from IdentitySource $request.header.<name>


@dataclass(frozen=True)
class HttpRoute:
    """One route of an HTTP API (payload 2.0) or REST API (payload 1.0) that targets a function."""

    api_logical_id: str
    method: str  # upper case, or "ANY"
    path: str  # as declared: "/orders/{order_id}", "/{proxy+}"
    payload_format: Literal["1.0", "2.0"] = "2.0"
    stage: str = "$default"
    authorizer: JwtAuthorizer | None = None  # AuthorizationType JWT: the gateway verifies the token
    scopes: tuple[str, ...] = ()  # AuthorizationScopes: the token needs one of them


@dataclass(frozen=True)
class ScheduleSource:
    """A `Schedule`/`ScheduleV2` event: the runtime invokes the function asynchronously on it."""

    logical_id: str
    expression: str  # "rate(5 minutes)" or "cron(...)"
    input: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """`AWS::Lambda::EventInvokeConfig`, with AWS's defaults when the template has none."""

    maximum_retry_attempts: int = 2
    maximum_event_age_s: int = 21600
    on_success_arn: str | None = None
    on_failure_arn: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """Everything the runtime needs to run one `AWS::Lambda::Function` like Lambda does."""

    logical_id: str
    function_name: str
    arn: str
    handler: str  # "module.path.function"
    runtime: str  # "python3.13"
    code_dir: Path
    timeout_s: int = 3
    memory_mb: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    sqs_sources: tuple[SqsEventSource, ...] = ()
    stream_sources: tuple[StreamEventSource, ...] = ()
    http_routes: tuple[HttpRoute, ...] = ()
    schedules: tuple[ScheduleSource, ...] = ()
    async_config: AsyncInvokeConfig = AsyncInvokeConfig()
    tracing: Literal["Active", "PassThrough"] = "PassThrough"


ReportAction = Literal["created", "updated", "unchanged", "recorded", "unsupported"]


@dataclass(frozen=True)
class ReportLine:
    """What deploying did to one resource; `unsupported` lines carry the reason."""

    logical_id: str
    type: str
    action: ReportAction
    detail: str = ""


@dataclass
class DeployedStack:
    """The result of a deploy: physical resources, runnable functions and outputs."""

    stack_name: str
    region: str
    account_id: str
    parameters: dict[str, str]
    resources: dict[str, Resource]
    functions: dict[str, FunctionSpec]
    outputs: dict[str, Any]
    report: list[ReportLine] = field(default_factory=list)

    def function(self, name: str) -> FunctionSpec:
        """Find a function by logical id or physical name."""
        if name in self.functions:
            return self.functions[name]
        for spec in self.functions.values():
            if spec.function_name == name or spec.arn == name:
                return spec
        raise KeyError(f"no function {name!r} in stack {self.stack_name!r}")

    def physical_id(self, logical_id: str) -> str:
        return self.resources[logical_id].physical_id

    @property
    def unsupported(self) -> list[ReportLine]:
        return [line for line in self.report if line.action == "unsupported"]
