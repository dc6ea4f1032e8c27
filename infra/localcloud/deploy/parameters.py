"""Template parameters: defaults, overrides and CloudFormation's own checks on them.

CloudFormation refuses a stack whose parameters break AllowedValues/AllowedPattern/length or
number bounds before creating anything; doing the same here keeps a local deploy from
succeeding with values the real deploy would reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.deploy.errors import DeployError


def resolve_parameters(
    declared: Mapping[str, Any],
    overrides: Mapping[str, str],
    ssm_lookup: Callable[[str], str],
) -> tuple[dict[str, str], dict[str, Any]]:
    """(values as strings, as recorded in the stack; values as `Ref` returns them, lists for list types)."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise DeployError(f"parameter overrides for undeclared parameters: {', '.join(unknown)}")
    strings: dict[str, str] = {}
    typed: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in overrides:
            raw = str(overrides[name])
        elif "Default" in spec:
            raw = _as_string(spec["Default"])
        else:
            raise DeployError(f"parameter {name!r} has no Default and no override was given")
        kind = str(spec.get("Type", "String"))
        _check(name, spec, kind, raw)
        if kind.startswith("AWS::SSM::Parameter::Value<"):
            raw = ssm_lookup(raw)
        strings[name] = raw
        typed[name] = _typed(kind, raw)
    return strings, typed


def _as_string(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _typed(kind: str, raw: str) -> Any:
    if kind == "CommaDelimitedList" or (kind.startswith("List<") and raw):
        return [item.strip() for item in raw.split(",")] if raw else []
    if kind.startswith("List<"):
        return []
    return raw


def _check(name: str, spec: Mapping[str, Any], kind: str, raw: str) -> None:
    values = [raw] if not (kind == "CommaDelimitedList" or kind.startswith("List<")) else [v.strip() for v in raw.split(",")]
    allowed = spec.get("AllowedValues")
    pattern = spec.get("AllowedPattern")
    for value in values:
        if allowed is not None and value not in [_as_string(a) for a in allowed]:
            raise DeployError(f"parameter {name!r}: {value!r} is not one of AllowedValues {allowed}")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise DeployError(f"parameter {name!r}: {value!r} does not match AllowedPattern {pattern!r}")
        if kind in ("Number", "List<Number>"):
            try:
                number = float(value)
            except ValueError:
                raise DeployError(f"parameter {name!r}: {value!r} is not a Number") from None
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise DeployError(f"parameter {name!r}: {value} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise DeployError(f"parameter {name!r}: {value} is above MaxValue {spec['MaxValue']}")
    if "MinLength" in spec and len(raw) < int(spec["MinLength"]):
        raise DeployError(f"parameter {name!r}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(raw) > int(spec["MaxLength"]):
        raise DeployError(f"parameter {name!r}: longer than MaxLength {spec['MaxLength']}")
