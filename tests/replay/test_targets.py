"""A deployed stack is found through CloudFormation (moto's, with plain resources: no Lambda in moto)."""

from __future__ import annotations

import json

import pytest

from localcloud.cli import main
from ordertools.dlq import find_dead_letter_queues
from ordertools.targets import TargetError, from_cloudformation

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "WorkDLQ": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-work-dlq"}},
        "WorkQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": "cfn-work",
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["WorkDLQ", "Arn"]}, "maxReceiveCount": 1},
            },
        },
        "OrderEventsTopic": {"Type": "AWS::SNS::Topic"},
        "ArchiveBucket": {"Type": "AWS::S3::Bucket"},
    },
}


def test_deployed_stack_resources_and_dlq_commands(endpoints, capsys):
    cfn = endpoints.client("cloudformation")
    cfn.create_stack(StackName="deployed", TemplateBody=json.dumps(TEMPLATE))
    target = from_cloudformation("deployed", endpoints)

    assert {r.logical_id: r.type for r in target.resources.values()} == {
        "WorkDLQ": "AWS::SQS::Queue", "WorkQueue": "AWS::SQS::Queue", "OrderEventsTopic": "AWS::SNS::Topic",
        "ArchiveBucket": "AWS::S3::Bucket",
    }
    assert target.queue_url("cfn-work").endswith("/cfn-work")
    (dlq,) = find_dead_letter_queues(target)
    assert dlq.logical_id == "WorkDLQ" and [s.url.rsplit("/", 1)[-1] for s in dlq.sources] == ["cfn-work"]

    sqs = endpoints.client("sqs")
    sqs.send_message(QueueUrl=target.queue_url("WorkQueue"), MessageBody='{"id": "x"}')
    for _ in range(3):
        sqs.receive_message(QueueUrl=target.queue_url("WorkQueue"), VisibilityTimeout=0)
    cli = ["--stack-name", "deployed", "--endpoint-url", endpoints.default]
    assert main(["dlq", "redrive", "WorkDLQ", *cli]) == 0
    assert "redriven: 1" in capsys.readouterr().err
    assert sqs.receive_message(QueueUrl=target.queue_url("WorkQueue"))["Messages"][0]["Body"] == '{"id": "x"}'

    with pytest.raises(TargetError, match="not found"):
        from_cloudformation("no-such-stack", endpoints)
