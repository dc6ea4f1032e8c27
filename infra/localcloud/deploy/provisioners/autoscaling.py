"""Application Auto Scaling targets and policies (e.g. DynamoDB provisioned capacity)."""

from __future__ import annotations

from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, matches, provisioner


def _int_fields(value: Any) -> Any:
    numeric = {"MinCapacity", "MaxCapacity", "ScaleInCooldown", "ScaleOutCooldown", "Cooldown", "MinAdjustmentMagnitude", "ScalingAdjustment"}
    if isinstance(value, dict):
        return {k: (int(v) if k in numeric else float(v) if k == "TargetValue" else _int_fields(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_int_fields(v) for v in value]
    return value


@provisioner(
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "application-autoscaling",
    "MaxCapacity MinCapacity ResourceId RoleARN ScalableDimension ServiceNamespace SuspendedState",
)
def scalable_target(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    client = ctx.client("application-autoscaling")
    key = {"ServiceNamespace": props["ServiceNamespace"], "ResourceId": props["ResourceId"], "ScalableDimension": props["ScalableDimension"]}
    desired = _int_fields({**key, "MinCapacity": props["MinCapacity"], "MaxCapacity": props["MaxCapacity"]})
    current = client.describe_scalable_targets(ServiceNamespace=key["ServiceNamespace"], ResourceIds=[key["ResourceId"]])[
        "ScalableTargets"
    ]
    current = [t for t in current if t["ScalableDimension"] == key["ScalableDimension"]]
    if current and matches(desired, current[0]):
        action = "unchanged"
    else:
        request = dict(desired)
        if "RoleARN" in props:
            request["RoleARN"] = props["RoleARN"]
        if "SuspendedState" in props:
            request["SuspendedState"] = props["SuspendedState"]
        client.register_scalable_target(**request)
        action = "updated" if current else "created"
    physical = f"{key['ResourceId']}|{key['ScalableDimension']}|{key['ServiceNamespace']}"
    return Outcome(physical, key, action)  # type: ignore[arg-type]


@provisioner(
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "application-autoscaling",
    "PolicyName PolicyType ScalingTargetId ResourceId ScalableDimension ServiceNamespace "
    "TargetTrackingScalingPolicyConfiguration StepScalingPolicyConfiguration",
)
def scaling_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    client = ctx.client("application-autoscaling")
    if "ScalingTargetId" in props:
        resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
    else:
        resource_id, dimension, namespace = props["ResourceId"], props["ScalableDimension"], props["ServiceNamespace"]
    request = {
        "PolicyName": props["PolicyName"],
        "PolicyType": props.get("PolicyType", "StepScaling"),
        "ResourceId": resource_id,
        "ScalableDimension": dimension,
        "ServiceNamespace": namespace,
    }
    for key in ("TargetTrackingScalingPolicyConfiguration", "StepScalingPolicyConfiguration"):
        if key in props:
            request[key] = _int_fields(props[key])
    current = client.describe_scaling_policies(ServiceNamespace=namespace, ResourceId=resource_id, PolicyNames=[props["PolicyName"]])[
        "ScalingPolicies"
    ]
    if current and matches(request, current[0]):
        return Outcome(current[0]["PolicyARN"], {"Arn": current[0]["PolicyARN"]}, "unchanged")
    arn = client.put_scaling_policy(**request)["PolicyARN"]
    return Outcome(arn, {"Arn": arn}, "updated" if current else "created")


PROVISIONERS = (scalable_target, scaling_policy)
