"""Deploying twice changes nothing; changing the template updates resources in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.deploy import deploy
from localcloud.emulator import EmbeddedMoto, Endpoints

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture()
def endpoints() -> Endpoints:
    with EmbeddedMoto() as endpoints:
        yield endpoints


def test_second_deploy_finds_everything_unchanged(endpoints: Endpoints) -> None:
    first = deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="again")
    second = deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="again")

    assert {r.logical_id: r.physical_id for r in first.resources.values()} == {
        r.logical_id: r.physical_id for r in second.resources.values()
    }
    assert {line.action for line in first.report} == {"created", "recorded"}
    assert {line.action for line in second.report} == {"unchanged", "recorded"}
    assert first.functions == second.functions

    sns, sqs = endpoints.client("sns"), endpoints.client("sqs")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=second.physical_id("OrderEventsTopic"))["Subscriptions"]
    assert len(subscriptions) == 1
    assert len(sqs.list_queues(QueueNamePrefix="again-")["QueueUrls"]) == 5


def test_changed_parameters_update_resources_in_place(endpoints: Endpoints) -> None:
    deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="change", parameters={"Stage": "dev"})
    updated = deploy(TEMPLATES / "deploy_full.yaml", endpoints, stack_name="change", parameters={"Stage": "prod"})

    actions = {line.logical_id: line.action for line in updated.report}
    assert actions["ProdOnlyQueue"] == "created"  # its condition became true
    assert actions["OrdersQueue"] == "updated"  # maxReceiveCount 3 -> 5
    assert actions["StageParameter"] == "updated"
    assert actions["OrdersTable"] == "unchanged"
    attributes = endpoints.client("sqs").get_queue_attributes(
        QueueUrl=updated.physical_id("OrdersQueue"), AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]) == 5
    assert updated.outputs["ProdQueue"] == updated.physical_id("ProdOnlyQueue")
    assert endpoints.client("ssm").get_parameter(Name="/change/stage")["Parameter"]["Value"] == "prod"
