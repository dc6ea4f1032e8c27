"""AWS's event source mapping rules: defaults, limits and validation, in one place.

`CreateEventSourceMapping` refuses a bad mapping with 400 `InvalidParameterValueException`
before anything is polled; the deployer applies the same rules through `sqs_mapping` and
`stream_mapping`, so a mapping that AWS would refuse never deploys here (and is never
discovered at poll time, with messages cycling in flight). Each refusal is a `Refusal`
naming the property and carrying AWS's message where AWS documents one.

Sources: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
(ranges and defaults), https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
(batch window rule), https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
(filter grammar and quotas).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.model import SqsEventSource, StreamEventSource

INVALID_FILTER = "Invalid filter pattern definition."
BATCH_WINDOW_NEEDED = "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"

# AWS's defaults when the mapping leaves a property out (API_CreateEventSourceMapping).
SQS_DEFAULTS: dict[str, Any] = {
    "batch_size": 10,
    "maximum_batching_window_s": 0,
    "report_batch_item_failures": False,
    "maximum_concurrency": None,
    "filter_patterns": (),
    "enabled": True,
}
STREAM_DEFAULTS: dict[str, Any] = {
    "starting_position": "TRIM_HORIZON",
    "batch_size": 100,
    "maximum_batching_window_s": 0,
    "bisect_batch_on_function_error": False,
    "maximum_retry_attempts": -1,  # retry until the record expires
    "maximum_record_age_s": -1,
    "on_failure_arn": None,
    "report_batch_item_failures": False,
    "filter_patterns": (),
    "parallelization_factor": 1,
    "enabled": True,
}

_COMMON = {"FunctionName", "EventSourceArn", "Enabled", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "FilterCriteria"}
SQS_PROPERTIES = _COMMON | {"ScalingConfig"}
STREAM_PROPERTIES = _COMMON | {
    "StartingPosition", "BisectBatchOnFunctionError", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
    "DestinationConfig", "ParallelizationFactor",
}
# Properties of AWS::Lambda::EventSourceMapping that exist on AWS but that the local runtime does not do.
NOT_IMPLEMENTED = {
    "TumblingWindowInSeconds": "tumbling windows (state carried between invocations) are not run locally",
    "StartingPositionTimestamp": "AT_TIMESTAMP is a Kinesis position; DynamoDB streams have none",
}
MAX_FILTERS = 5
_MATCHERS = {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr"}
_NUMERIC_OPERATORS = {"=", "<", "<=", ">", ">="}


@dataclass(frozen=True)
class Refusal:
    """One property of a mapping that AWS (or the local cloud) would not accept, and why."""

    property: str
    message: str


class InvalidMapping(Exception):
    """A mapping refused at deploy; `refusals` names every offending property."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("; ".join(f"{r.property}: {r.message}" for r in refusals))
        self.refusals = refusals


def sqs_source(logical_id: str, queue_arn: str, queue_url: str, **fields: Any) -> SqsEventSource:
    """An SQS mapping with AWS's defaults for whatever `fields` leaves out."""
    return SqsEventSource(logical_id=logical_id, queue_arn=queue_arn, queue_url=queue_url, **{**SQS_DEFAULTS, **fields})


def stream_source(logical_id: str, stream_arn: str, mapping_id: str | None = None, **fields: Any) -> StreamEventSource:
    """A DynamoDB stream mapping with AWS's defaults for whatever `fields` leaves out."""
    mapping_id = mapping_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud:{logical_id}"))
    return StreamEventSource(logical_id=logical_id, mapping_id=mapping_id, stream_arn=stream_arn, **{**STREAM_DEFAULTS, **fields})


def sqs_mapping(logical_id: str, props: Mapping[str, Any], queue_url: str) -> SqsEventSource:
    """The template's SQS mapping checked as AWS checks it; raises InvalidMapping."""
    refusals = _unknown(props, SQS_PROPERTIES, "an SQS event source")
    fifo = str(props["EventSourceArn"]).endswith(".fifo")
    fields: dict[str, Any] = {}
    batch = _int(props, "BatchSize", 1, 10 if fifo else 10000, refusals)
    window = _int(props, "MaximumBatchingWindowInSeconds", 0, 300, refusals)
    if batch is not None:
        fields["batch_size"] = batch
    if window is not None:
        if fifo and window > 0:
            refusals.append(Refusal("MaximumBatchingWindowInSeconds", "Batching window is not supported for FIFO queues."))
        fields["maximum_batching_window_s"] = window
    if (batch or 0) > 10 and not window:
        refusals.append(Refusal("BatchSize", BATCH_WINDOW_NEEDED))
    scaling = props.get("ScalingConfig")
    if scaling is not None:
        if not isinstance(scaling, Mapping) or set(scaling) - {"MaximumConcurrency"}:
            refusals.append(Refusal("ScalingConfig", "only MaximumConcurrency is a scaling setting"))
        else:
            concurrency = _int(scaling, "MaximumConcurrency", 2, 1000, refusals, "ScalingConfig.MaximumConcurrency")
            if concurrency is not None:
                fields["maximum_concurrency"] = concurrency
    fields.update(_shared(props, refusals))
    if refusals:
        raise InvalidMapping(refusals)
    return sqs_source(logical_id, str(props["EventSourceArn"]), queue_url, **fields)


def stream_mapping(logical_id: str, mapping_id: str, props: Mapping[str, Any]) -> StreamEventSource:
    """The template's DynamoDB stream mapping checked as AWS checks it; raises InvalidMapping."""
    refusals = _unknown(props, STREAM_PROPERTIES, "a DynamoDB stream event source")
    fields: dict[str, Any] = {}
    position = props.get("StartingPosition")
    if position not in ("TRIM_HORIZON", "LATEST"):
        refusals.append(Refusal("StartingPosition", "StartingPosition is required for a DynamoDB stream: TRIM_HORIZON or LATEST"))
    else:
        fields["starting_position"] = position
    for prop, field_name, low, high in (
        ("BatchSize", "batch_size", 1, 10000),
        ("MaximumBatchingWindowInSeconds", "maximum_batching_window_s", 0, 300),
        ("MaximumRetryAttempts", "maximum_retry_attempts", -1, 10000),
        ("ParallelizationFactor", "parallelization_factor", 1, 10),
    ):
        value = _int(props, prop, low, high, refusals)
        if value is not None:
            fields[field_name] = value
    age = _int(props, "MaximumRecordAgeInSeconds", -1, 604800, refusals)
    if age is not None:
        if 0 <= age < 60:
            refusals.append(Refusal("MaximumRecordAgeInSeconds", "MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and 604800"))
        fields["maximum_record_age_s"] = age
    if "BisectBatchOnFunctionError" in props:
        fields["bisect_batch_on_function_error"] = _bool(props, "BisectBatchOnFunctionError", refusals)
    if "DestinationConfig" in props:
        fields["on_failure_arn"] = _on_failure(props["DestinationConfig"], refusals)
    fields.update(_shared(props, refusals))
    if refusals:
        raise InvalidMapping(refusals)
    return stream_source(logical_id, str(props["EventSourceArn"]), mapping_id, **fields)


def _unknown(props: Mapping[str, Any], supported: set[str], kind: str) -> list[Refusal]:
    refusals = []
    for name in sorted(set(props) - supported):
        reason = NOT_IMPLEMENTED.get(name) or f"not a property the local cloud implements for {kind}"
        refusals.append(Refusal(name, reason))
    return refusals


def _shared(props: Mapping[str, Any], refusals: list[Refusal]) -> dict[str, Any]:
    """Enabled, FunctionResponseTypes and FilterCriteria: the same rules for every source."""
    fields: dict[str, Any] = {}
    if "Enabled" in props:
        fields["enabled"] = _bool(props, "Enabled", refusals)
    types = props.get("FunctionResponseTypes")
    if types is not None:
        if not isinstance(types, list) or any(t != "ReportBatchItemFailures" for t in types):
            refusals.append(Refusal(
                "FunctionResponseTypes",
                f"1 validation error detected: Value '{types}' at 'functionResponseTypes' failed to satisfy constraint: "
                "Member must satisfy enum value set: [ReportBatchItemFailures]",
            ))
        else:
            fields["report_batch_item_failures"] = bool(types)
    if "FilterCriteria" in props:
        patterns = filter_patterns(props["FilterCriteria"], refusals)
        if patterns is not None:
            fields["filter_patterns"] = patterns
    return fields


def filter_patterns(criteria: Any, refusals: list[Refusal]) -> tuple[dict[str, Any], ...] | None:
    """`FilterCriteria.Filters[].Pattern` parsed and checked against AWS's pattern grammar."""
    filters = criteria.get("Filters") if isinstance(criteria, Mapping) else None
    if not isinstance(filters, list) or set(criteria) - {"Filters"}:
        refusals.append(Refusal("FilterCriteria", "FilterCriteria takes one key, Filters: a list of {Pattern: <JSON>}"))
        return None
    if len(filters) > MAX_FILTERS:
        refusals.append(Refusal("FilterCriteria", f"at most {MAX_FILTERS} filters per event source mapping (Lambda's quota)"))
        return None
    patterns = []
    for index, entry in enumerate(filters):
        pattern = _parse_pattern(entry)
        if pattern is None:
            refusals.append(Refusal(f"FilterCriteria.Filters[{index}].Pattern", INVALID_FILTER))
            return None
        patterns.append(pattern)
    return tuple(patterns)


def _parse_pattern(entry: Any) -> dict[str, Any] | None:
    if not isinstance(entry, Mapping) or set(entry) != {"Pattern"} or not isinstance(entry["Pattern"], str):
        return None
    if len(entry["Pattern"]) > 4096:
        return None
    try:
        pattern = json.loads(entry["Pattern"])
    except ValueError:
        return None
    return pattern if _valid_object(pattern) else None


def _valid_object(node: Any) -> bool:
    """An object whose every value is a non-empty object or a non-empty list of matchers."""
    if not isinstance(node, dict) or not node:
        return False
    for value in node.values():
        if isinstance(value, dict):
            if not _valid_object(value):
                return False
        elif not isinstance(value, list) or not value or not all(_valid_matcher(m) for m in value):
            return False
    return True


def _valid_matcher(matcher: Any) -> bool:
    if matcher is None or isinstance(matcher, str | bool | int | float):
        return True
    if not isinstance(matcher, dict) or len(matcher) != 1:
        return False
    (kind, arg), = matcher.items()
    if kind not in _MATCHERS:
        return False
    if kind == "exists":
        return isinstance(arg, bool)
    if kind == "numeric":
        return _valid_numeric(arg)
    if kind == "anything-but":
        if isinstance(arg, dict):
            return len(arg) == 1 and next(iter(arg)) in ("prefix", "suffix", "equals-ignore-case") and _valid_matcher(arg)
        return isinstance(arg, str | int | float) or (isinstance(arg, list) and bool(arg) and all(isinstance(a, str | int | float) for a in arg))
    if kind in ("prefix", "suffix") and isinstance(arg, dict):
        return set(arg) == {"equals-ignore-case"} and isinstance(arg["equals-ignore-case"], str)
    return isinstance(arg, str)


def _valid_numeric(arg: Any) -> bool:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        return False
    ops, bounds = arg[::2], arg[1::2]
    return all(op in _NUMERIC_OPERATORS for op in ops) and all(
        isinstance(b, int | float) and not isinstance(b, bool) for b in bounds
    )


def _on_failure(config: Any, refusals: list[Refusal]) -> str | None:
    """`DestinationConfig.OnFailure.Destination`: an SQS queue, SNS topic or S3 bucket ARN, as AWS allows."""
    if not isinstance(config, Mapping) or set(config) - {"OnFailure"}:
        refusals.append(Refusal("DestinationConfig", "a stream event source has only an OnFailure destination"))
        return None
    destination = (config.get("OnFailure") or {}).get("Destination")
    if destination is None:
        return None
    parts = str(destination).split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in ("sqs", "sns", "s3"):
        refusals.append(Refusal(
            "DestinationConfig.OnFailure.Destination",
            f"{destination!r}: the destination of a DynamoDB stream mapping is an SQS queue, an SNS topic or an S3 bucket ARN",
        ))
        return None
    if parts[2] in ("sqs", "sns") and parts[-1].endswith(".fifo"):
        refusals.append(Refusal("DestinationConfig.OnFailure.Destination", f"{destination!r}: FIFO queues and topics are not destinations"))
        return None
    return str(destination)


def _int(props: Mapping[str, Any], name: str, low: int, high: int, refusals: list[Refusal], shown: str | None = None) -> int | None:
    if name not in props:
        return None
    shown = shown or name
    try:
        value = int(str(props[name]))
    except ValueError:
        refusals.append(Refusal(shown, f"{props[name]!r} is not an integer"))
        return None
    if not low <= value <= high:
        field = shown[0].lower() + shown[1:]
        bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        refusals.append(Refusal(shown, f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: Member must have value {bound}"))
        return None
    return value


def _bool(props: Mapping[str, Any], name: str, refusals: list[Refusal]) -> bool:
    value = str(props[name]).lower()
    if value not in ("true", "false"):
        refusals.append(Refusal(name, f"{props[name]!r} is not a boolean"))
    return value == "true"
