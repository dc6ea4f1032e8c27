"""CloudFormation's intrinsic functions and conditions, evaluated against deployed resources.

CloudFormation resolves `Ref`/`Fn::GetAtt` to what the service created; so do we, from the
`Resource` records the provisioners return. Everything here is pure: no boto3, no I/O, so the
rules can be tested on plain dicts.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.deploy.errors import DeployError
from localcloud.model import Resource


class _NoValue:
    """`AWS::NoValue`: removes the property (or list element) that resolves to it."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def sub_variables(template: str) -> list[str]:
    """The `${...}` names in a `Fn::Sub` string, without the `${!literal}` escapes."""
    return [name.strip() for name in _SUB_VARIABLE.findall(template) if not name.startswith("!")]


class Intrinsics:
    """Resolves intrinsics in a context of parameters, mappings, conditions and resources."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, Any],
        pseudo: Mapping[str, Any],
        mappings: Mapping[str, Any],
        conditions: Mapping[str, Any],
        resources: Mapping[str, Resource],
        region: str,
    ) -> None:
        self._parameters = parameters
        self._pseudo = pseudo
        self._mappings = mappings
        self._conditions = conditions
        self._resources = resources
        self._region = region
        self._condition_values: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- conditions -------------------------------------------------------------------------

    def condition(self, name: str) -> bool:
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self._conditions:
            raise DeployError(f"condition {name!r} is not declared in Conditions")
        if name in self._evaluating:
            raise DeployError(f"condition {name!r} refers to itself")
        self._evaluating.add(name)
        value = self._truth(self.resolve(self._conditions[name]), f"condition {name!r}")
        self._evaluating.discard(name)
        self._condition_values[name] = value
        return value

    @staticmethod
    def _truth(value: Any, what: str) -> bool:
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise DeployError(f"{what} does not evaluate to a boolean: {value!r}")

    # -- references (for dependency order) --------------------------------------------------

    def references(self, value: Any) -> set[str]:
        """Names that `value` refers to through Ref, GetAtt and Sub (only the taken `Fn::If` branches)."""
        found: set[str] = set()
        self._collect(value, found)
        return found

    def _collect(self, value: Any, found: set[str]) -> None:
        if isinstance(value, list):
            for item in value:
                self._collect(item, found)
            return
        if not isinstance(value, dict):
            return
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
                return
            if key == "Fn::GetAtt":
                name = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                found.add(name)
                return
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                for name in sub_variables(text):
                    if name not in variables:
                        found.add(name.split(".", 1)[0])
                self._collect(variables, found)
                return
            if key == "Fn::If":
                name, when_true, when_false = arg
                self._collect(when_true if self.condition(name) else when_false, found)
                return
        for item in value.values():
            self._collect(item, found)

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic replaced; `AWS::NoValue` removes keys and list items."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = self._FUNCTIONS.get(key)
            # "Condition" is also an IAM statement key; only a string argument names a condition.
            if handler is not None and not (key == "Condition" and not isinstance(arg, str)):
                return handler(self, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._resources:
            return self._resources[name].physical_id
        raise DeployError(f"Ref {name!r}: no parameter or deployed resource by that name")

    def get_att(self, name: str, attribute: str) -> Any:
        resource = self._resources.get(name)
        if resource is None:
            raise DeployError(f"Fn::GetAtt {name}.{attribute}: no deployed resource {name!r}")
        if attribute not in resource.attributes:
            known = ", ".join(sorted(resource.attributes)) or "none"
            raise DeployError(f"Fn::GetAtt {name}.{attribute}: {resource.type} has no such attribute (known: {known})")
        return resource.attributes[attribute]

    def _ref(self, arg: Any) -> Any:
        return self.ref(self._string(arg, "Ref"))

    def _get_att(self, arg: Any) -> Any:
        if isinstance(arg, str):
            name, attribute = arg.split(".", 1)
        else:
            name, attribute = arg[0], self._string(arg[1], "Fn::GetAtt")
        return self.get_att(name, attribute)

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self.get_att(*name.split(".", 1))
            else:
                value = self.ref(name)
            return self._scalar(value, f"Fn::Sub ${{{name}}}")

        return _SUB_VARIABLE.sub(replace, text)

    def _join(self, arg: Any) -> str:
        delimiter, items = arg[0], self.resolve(arg[1])
        return str(delimiter).join(self._scalar(item, "Fn::Join") for item in items)

    def _if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _select(self, arg: Any) -> Any:
        index, items = int(self.resolve(arg[0])), self.resolve(arg[1])
        if not 0 <= index < len(items):
            raise DeployError(f"Fn::Select index {index} out of range for {items!r}")
        return items[index]

    def _split(self, arg: Any) -> list[str]:
        delimiter, text = arg[0], self.resolve(arg[1])
        return self._string(text, "Fn::Split").split(delimiter)

    def _find_in_map(self, arg: Any) -> Any:
        default = arg[3].get("DefaultValue") if len(arg) > 3 and isinstance(arg[3], dict) else None
        name, top, second = (self.resolve(a) for a in arg[:3])
        try:
            return self._mappings[name][top][second]
        except KeyError:
            if default is not None:
                return self.resolve(default)
            raise DeployError(f"Fn::FindInMap: no {name}/{top}/{second} in Mappings") from None

    def _equals(self, arg: Any) -> bool:
        left, right = (self.resolve(a) for a in arg)
        return str(left) == str(right) if not isinstance(left, (list, dict)) else left == right

    def _and(self, arg: Any) -> bool:
        return all(self._truth(self.resolve(a), "Fn::And") for a in arg)

    def _or(self, arg: Any) -> bool:
        return any(self._truth(self.resolve(a), "Fn::Or") for a in arg)

    def _not(self, arg: Any) -> bool:
        return not self._truth(self.resolve(arg[0]), "Fn::Not")

    def _condition(self, arg: Any) -> bool:
        return self.condition(self._string(arg, "Condition"))

    def _get_azs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self._region
        return [f"{region}{zone}" for zone in "abc"]

    def _base64(self, arg: Any) -> str:
        return base64.b64encode(self._string(self.resolve(arg), "Fn::Base64").encode()).decode()

    def _to_json_string(self, arg: Any) -> str:
        return json.dumps(self.resolve(arg), separators=(",", ":"))

    def _string(self, value: Any, what: str) -> str:
        value = self.resolve(value)
        if not isinstance(value, str):
            raise DeployError(f"{what}: expected a string, got {value!r}")
        return value

    @staticmethod
    def _scalar(value: Any, what: str) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise DeployError(f"{what}: expected a string, got {value!r}")

    _FUNCTIONS: dict[str, Callable[[Intrinsics, Any], Any]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::If": _if,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::Equals": _equals,
        "Fn::And": _and,
        "Fn::Or": _or,
        "Fn::Not": _not,
        "Condition": _condition,
        "Fn::GetAZs": _get_azs,
        "Fn::Base64": _base64,
        "Fn::ToJsonString": _to_json_string,
    }


def _not_available(name: str, reason: str) -> Callable[[Intrinsics, Any], Any]:
    def fail(self: Intrinsics, arg: Any) -> Any:
        raise DeployError(f"{name} is not supported locally: {reason}")

    return fail


Intrinsics._FUNCTIONS.update(
    {
        "Fn::ImportValue": _not_available("Fn::ImportValue", "there are no other stacks to import from"),
        "Fn::Cidr": _not_available("Fn::Cidr", "the local cloud has no VPC networking"),
        "Fn::Transform": _not_available("Fn::Transform", "macros other than the SAM transform are not run"),
    }
)
