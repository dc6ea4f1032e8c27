"""The local stack as CloudFormation knows it: DescribeStacks answers for a locally deployed stack.

Tools that find a deployed stack through CloudFormation (`orderflow smoke --stack-name S`) then
work unchanged against the local cloud: the emulator holds a stack of that name whose Outputs are
the local deploy's outputs, with `ApiUrl` pointing at the local gateway. Its only resource is a
placeholder (the real resources were created through their own services' APIs, not by the
emulator's CloudFormation); docs/local-cloud.md "What differs from AWS" says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.emulator import Endpoints

log = logging.getLogger(__name__)

PLACEHOLDER = {"LocalCloudDeployment": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}


def record_stack(endpoints: Endpoints, stack_name: str, outputs: Mapping[str, Any]) -> None:
    """Create (or replace) the emulator's CloudFormation stack `stack_name` holding `outputs`."""
    cfn = endpoints.client("cloudformation")
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orderflow local cloud: the outputs of a stack deployed by localcloud.deploy",
        "Resources": PLACEHOLDER,
        "Outputs": {name: {"Value": str(value)} for name, value in outputs.items()},
    }
    try:
        if any(s["StackStatus"] != "DELETE_COMPLETE" for s in _stacks(cfn, stack_name)):
            cfn.delete_stack(StackName=stack_name)
        cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(body))
    except (BotoCoreError, ClientError) as error:
        # The stack itself is deployed and running; only tools that look it up in CloudFormation miss it.
        log.warning("stack %s: not recorded in the emulator's CloudFormation (DescribeStacks will not find it): %s", stack_name, error)


def _stacks(cfn: Any, stack_name: str) -> list[dict[str, Any]]:
    try:
        return list(cfn.describe_stacks(StackName=stack_name)["Stacks"])
    except cfn.exceptions.ClientError:
        return []  # "Stack with id ... does not exist"
