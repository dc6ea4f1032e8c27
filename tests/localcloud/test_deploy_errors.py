"""What the deployer refuses: unsupported types and properties, bad parameters, unreachable services."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.deploy import DeployError, deploy
from localcloud.emulator import Endpoints

TEMPLATES = Path(__file__).parent / "templates"


def test_unsupported_types_and_properties_are_named_and_nothing_is_created(endpoints: Endpoints) -> None:
    with pytest.raises(DeployError) as caught:
        deploy(TEMPLATES / "deploy_unsupported.yaml", endpoints, stack_name="unsup")

    message = str(caught.value)
    assert "Machine (AWS::StepFunctions::StateMachine)" in message
    assert "Stream (AWS::Kinesis::Stream)" in message
    assert "Table (AWS::DynamoDB::Table): properties not supported locally: KinesisStreamSpecification" in message
    assert "Queue" not in {line.logical_id for line in caught.value.report}
    assert {(line.logical_id, line.action) for line in caught.value.report} == {
        ("Machine", "unsupported"),
        ("Stream", "unsupported"),
        ("Table", "unsupported"),
    }
    assert endpoints.client("sqs").list_queues(QueueNamePrefix="unsup-").get("QueueUrls", []) == []


def test_parameter_outside_allowed_values_is_refused(endpoints: Endpoints) -> None:
    with pytest.raises(DeployError, match=r"parameter 'Stage': 'qa' is not one of AllowedValues"):
        deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="badparam", parameters={"Stage": "qa"})


def test_override_of_an_undeclared_parameter_is_refused(endpoints: Endpoints) -> None:
    with pytest.raises(DeployError, match="undeclared parameters: Colour"):
        deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="badparam", parameters={"Colour": "red"})


def test_a_service_that_does_not_answer_is_an_error_naming_it(endpoints: Endpoints) -> None:
    broken = Endpoints(default=endpoints.default, per_service={"logs": "http://127.0.0.1:9"})
    with pytest.raises(DeployError, match=r"EchoLogGroup \(AWS::Logs::LogGroup\): logs at http://127.0.0.1:9 is not reachable"):
        deploy(TEMPLATES / "deploy_full.yaml", broken, stack_name="nologs")


def test_supported_types_used_in_ways_the_runtime_cannot_run_are_named(endpoints: Endpoints) -> None:
    with pytest.raises(DeployError) as caught:
        deploy(TEMPLATES / "deploy_unsupported_uses.yaml", endpoints, stack_name="uses")

    lines = {(line.logical_id, line.type) for line in caught.value.report if line.action == "unsupported"}
    assert lines == {
        ("OnTopicNotified", "AWS::SNS::Subscription"),
        ("OnPatternMatched", "AWS::Events::Rule"),
        ("Node", "AWS::Lambda::Function"),
    }
    message = str(caught.value)
    assert "SNS delivery to Lambda is not run locally" in message
    assert "event-pattern rules are not delivered locally" in message
    assert "runtime nodejs20.x is not run locally" in message
