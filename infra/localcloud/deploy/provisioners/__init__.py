"""Every resource type the deployer can create or record, by CloudFormation type name."""

from __future__ import annotations

from localcloud.deploy.provisioners import autoscaling, dynamodb, iam, kms, observability, recorded, s3, sns, sqs, ssm
from localcloud.deploy.provisioners.base import Context, Outcome, Provisioner

REGISTRY: dict[str, Provisioner] = {
    p.type: p
    for module in (sqs, sns, dynamodb, s3, iam, kms, observability, ssm, autoscaling, recorded)
    for p in module.PROVISIONERS
}

__all__ = ["REGISTRY", "Context", "Outcome", "Provisioner"]
