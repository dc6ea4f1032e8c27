"""template.yaml as CloudFormation will see it, offline: the local cloud's own loader and SAM transform.

Reusing `localcloud.deploy` (rather than parsing YAML here) means the static checks read exactly
what the deployer deploys: SAM's expansion of every function, its roles and mappings included.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud.deploy.intrinsics import Intrinsics
from localcloud.deploy.parameters import resolve_parameters
from localcloud.deploy.template import load_template, to_cloudformation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": "123456789012",
    "AWS::StackName": "orderflow",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


def _no_ssm(name: str) -> str:
    raise AssertionError(f"template.yaml reads SSM parameter {name}: static checks cannot resolve it")


def load() -> dict[str, Any]:
    """The template as written (SAM types still in), to mutate in tests."""
    return load_template(TEMPLATE)


def translate(document: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Plain CloudFormation after the SAM transform, with the parameters' defaults (or `overrides`)."""
    strings, _ = resolve_parameters(document.get("Parameters") or {}, dict(overrides or {}), _no_ssm)
    return to_cloudformation(copy.deepcopy(dict(document)), TEMPLATE.parent, strings, REGION).template


def conditions(document: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> Intrinsics:
    """Evaluates the template's Conditions and `Fn::If` under the given parameters (no resources)."""
    _, typed = resolve_parameters(document.get("Parameters") or {}, dict(overrides or {}), _no_ssm)
    return Intrinsics(
        parameters=typed,
        pseudo=PSEUDO,
        mappings=document.get("Mappings") or {},
        conditions=document.get("Conditions") or {},
        resources={},
        region=REGION,
    )


def of_type(template: Mapping[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> Properties of every resource of one type."""
    return {
        logical_id: resource.get("Properties") or {}
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def target(value: Any) -> str:
    """A Ref/GetAtt/Sub reference as a readable name: `OrdersTable`, `OrdersTable.StreamArn`, `ReceiptsBucket/receipts/*`."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return str(arg)
        if key == "Fn::GetAtt":
            name, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return name if attribute == "Arn" else f"{name}.{attribute}"
        if key == "Fn::Sub" and isinstance(arg, str):
            text = arg
            for suffix in (".Arn}", "}"):
                text = text.replace(suffix, "")
            return text.replace("${", "")
    return repr(value)


def failed_rules(document: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> list[str]:
    """The template's Rules whose assertions CloudFormation would fail under these parameters.

    The rule-specific functions (`Fn::Contains`, `Fn::EachMemberEquals`) are evaluated here; the
    others (`Fn::Equals`, `Fn::Not`, `Ref`...) by the deployer's own intrinsics. See "Rules syntax":
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/rules-section-structure.html
    """
    intrinsics = conditions(document, overrides)

    def value(expression: Any) -> Any:
        if isinstance(expression, Mapping) and len(expression) == 1:
            (key, arg), = expression.items()
            if key == "Fn::Contains":
                return value(arg[1]) in value(arg[0])
            if key == "Fn::EachMemberEquals":
                return all(member == value(arg[1]) for member in value(arg[0]))
            if key == "Fn::Not":
                return not value(arg[0])
            if key in ("Fn::And", "Fn::Or"):
                results = [value(a) for a in arg]
                return all(results) if key == "Fn::And" else any(results)
            if key == "Fn::Equals":
                return value(arg[0]) == value(arg[1])
        if isinstance(expression, list):
            return [value(item) for item in expression]
        return intrinsics.resolve(expression)

    failed = []
    for name, rule in (document.get("Rules") or {}).items():
        if "RuleCondition" in rule and not value(rule["RuleCondition"]):
            continue
        if not all(value(assertion["Assert"]) for assertion in rule["Assertions"]):
            failed.append(name)
    return failed
