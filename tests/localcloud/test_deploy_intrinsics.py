"""Intrinsic functions and conditions, resolved against recorded resources (no emulator)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from localcloud.deploy import DeployError
from localcloud.deploy.intrinsics import Intrinsics
from localcloud.model import Resource

QUEUE_URL = "http://127.0.0.1:5000/123456789012/s-Queue"


def intrinsics(**conditions: Any) -> Intrinsics:
    return Intrinsics(
        parameters={"Stage": "prod", "Zones": ["a", "b"]},
        pseudo={"AWS::Region": "us-east-1", "AWS::StackName": "s", "AWS::AccountId": "123456789012"},
        mappings={"Sizes": {"prod": {"Memory": 1024}}},
        conditions={"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}, **conditions},
        resources={"Queue": Resource("Queue", "AWS::SQS::Queue", QUEUE_URL, {"Arn": "arn:aws:sqs:us-east-1:123456789012:s-Queue"})},
        region="us-east-1",
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Queue"}, QUEUE_URL),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:us-east-1:123456789012:s-Queue"),
        ({"Fn::GetAtt": "Queue.Arn"}, "arn:aws:sqs:us-east-1:123456789012:s-Queue"),
        ({"Fn::Sub": "${AWS::StackName}-${Stage}-${Queue.Arn}"}, "s-prod-arn:aws:sqs:us-east-1:123456789012:s-Queue"),
        ({"Fn::Sub": ["${Name}/${!Literal}", {"Name": {"Ref": "Stage"}}]}, "prod/${Literal}"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}, "a-prod"),
        ({"Fn::Select": [1, {"Ref": "Zones"}]}, "b"),
        ({"Fn::Split": [",", "x,y"]}, ["x", "y"]),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, 1024),
        ({"Fn::FindInMap": ["Sizes", "dev", "Memory", {"DefaultValue": 128}]}, 128),
        ({"Fn::If": ["IsProd", "big", "small"]}, "big"),
        ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c"]),
        ({"Fn::Base64": "hi"}, base64.b64encode(b"hi").decode()),
        ({"Fn::ToJsonString": {"a": [{"Ref": "Stage"}]}}, '{"a":["prod"]}'),
        ({"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}, "us-east-1a"),
    ],
)
def test_resolves(expression: Any, expected: Any) -> None:
    assert intrinsics().resolve(expression) == expected


def test_no_value_removes_keys_and_list_items() -> None:
    value = {"A": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, 1]}, "B": [1, {"Ref": "AWS::NoValue"}]}
    assert intrinsics().resolve(value) == {"B": [1]}


def test_conditions_combine() -> None:
    rules = intrinsics(
        NotProd={"Fn::Not": [{"Condition": "IsProd"}]},
        Either={"Fn::Or": [{"Condition": "NotProd"}, {"Fn::Equals": ["a", "a"]}]},
        Both={"Fn::And": [{"Condition": "IsProd"}, {"Condition": "NotProd"}]},
    )
    assert (rules.condition("IsProd"), rules.condition("NotProd"), rules.condition("Either"), rules.condition("Both")) == (
        True,
        False,
        True,
        False,
    )


def test_iam_condition_blocks_are_not_mistaken_for_the_condition_function() -> None:
    statement = {"Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": "Queue.Arn"}}}}
    assert intrinsics().resolve(statement) == {"Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sqs:us-east-1:123456789012:s-Queue"}}}


def test_references_follow_only_the_taken_branch() -> None:
    value = {"Fn::If": ["IsProd", {"Fn::Sub": "${Queue.Arn}-${Other}"}, {"Ref": "Skipped"}]}
    assert intrinsics().references(value) == {"Queue", "Other"}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Ref": "Missing"}, "no parameter or deployed resource"),
        ({"Fn::GetAtt": ["Queue", "Nope"]}, "has no such attribute"),
        ({"Fn::ImportValue": "x"}, "not supported locally"),
    ],
)
def test_unresolvable_references_are_errors(expression: Any, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        intrinsics().resolve(expression)
