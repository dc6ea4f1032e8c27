"""Mappings that AWS's CreateEventSourceMapping refuses (400 InvalidParameterValueException) are
refused by the deployer, naming the resource, the property and AWS's message: exit code 2 from
`orderflow deploy` and `orderflow up`, no traceback, nothing created, nothing left running.

Sources: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html ("Maximum batch window
in seconds must be greater than 0 if maximum batch size is greater than 10"),
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html ("Invalid filter
pattern definition."), and the recording of issue 11 (`{"eventSource": []}` refused by AWS).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud import cli

HANDLERS = Path(__file__).resolve().parent / "templates" / "handlers"
ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties: {queue}
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{{AttributeName: pk, AttributeType: S}}]
      KeySchema: [{{AttributeName: pk, KeyType: HASH}}]
      StreamSpecification: {{StreamViewType: NEW_AND_OLD_IMAGES}}
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      CodeUri: {handlers}
      Handler: conformance.record
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      FunctionName: !Ref Consumer
{mapping}
"""
SQS = "      EventSourceArn: !GetAtt Work.Arn\n"
STREAM = "      EventSourceArn: !GetAtt Items.StreamArn\n      StartingPosition: TRIM_HORIZON\n"


def _filter(pattern: str) -> str:
    return f"      FilterCriteria:\n        Filters:\n          - Pattern: '{pattern}'\n"


CASES = {
    "empty-list-leaf": (SQS + _filter('{"eventSource": []}'), "FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition."),
    "null-pattern": (SQS + _filter("null"), "FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition."),
    "bare-string": (SQS + _filter('"aws:sqs"'), "FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition."),
    "leaf-not-a-list": (SQS + _filter('{"eventSource": "aws:sqs"}'), "FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition."),
    "malformed-json": (SQS + _filter('{"eventSource": ['), "FilterCriteria.Filters[0].Pattern", "Invalid filter pattern definition."),
    "batch-over-10-no-window": (SQS + "      BatchSize: 11\n", "BatchSize", "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"),
    "response-type": (SQS + "      FunctionResponseTypes: [ReportEverything]\n", "FunctionResponseTypes", "enum value set: [ReportBatchItemFailures]"),
    "stream-prop-on-sqs": (SQS + "      BisectBatchOnFunctionError: true\n", "BisectBatchOnFunctionError", "not a property the local cloud implements for an SQS event source"),
    "parallelization-over-10": (STREAM + "      ParallelizationFactor: 11\n", "ParallelizationFactor", "less than or equal to 10"),
    "lambda-destination-on-stream": (
        STREAM + "      DestinationConfig: {OnFailure: {Destination: !GetAtt Consumer.Arn}}\n",
        "DestinationConfig.OnFailure.Destination", "an SQS queue, an SNS topic or an S3 bucket ARN",
    ),
    "tumbling-window": (
        STREAM + "      TumblingWindowInSeconds: 60\n", "properties not supported locally: TumblingWindowInSeconds", "tumbling windows",
    ),
}


def _template(tmp_path: Path, mapping: str, queue: str = "{}") -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE.format(queue=queue, handlers=HANDLERS, mapping=mapping))
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_deploy_refuses_the_mapping_naming_resource_property_and_reason(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping, prop, message = CASES[case]
    template = _template(tmp_path, mapping)
    code = cli.main(["deploy", "--template", str(template), "--stack-name", f"refuse-{case}", "--state-file", str(tmp_path / "state.json")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert f"Mapping (AWS::Lambda::EventSourceMapping): {prop}" in err and message in err, err


def test_an_unknown_queue_property_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = _template(tmp_path, SQS, queue="{Frobnicate: 3}")
    code = cli.main(["deploy", "--template", str(template), "--stack-name", "refuse-queue-prop", "--state-file", str(tmp_path / "state.json")])
    err = capsys.readouterr().err
    assert code == 2 and "Work (AWS::SQS::Queue): properties not supported locally: Frobnicate" in err, err


def test_orderflow_up_refuses_a_tumbling_window_and_leaves_nothing_running(tmp_path: Path) -> None:
    template = _template(tmp_path, CASES["tumbling-window"][0])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    result = subprocess.run(
        [sys.executable, "-m", "localcloud.cli", "up", "--template", str(template), "--stack-name", "refuse-up", "--port", "0"],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Mapping (AWS::Lambda::EventSourceMapping): properties not supported locally: TumblingWindowInSeconds" in result.stderr
    assert not (tmp_path / ".orderflow" / "state.json").exists()  # `up` never got to say it was running
