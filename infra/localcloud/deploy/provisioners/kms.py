"""KMS keys and aliases (for SSE with a customer managed key on queues, topics, tables and buckets)."""

from __future__ import annotations

import json
from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, as_json, bool_str, parse_json, provisioner, tag_list

# Keys have no name: this tag is how a redeploy finds the key the last deploy created.
_OWNER_TAG = "localcloud:logical-id"


@provisioner(
    "AWS::KMS::Key",
    "kms",
    "Description KeyPolicy KeySpec KeyUsage Enabled EnableKeyRotation MultiRegion PendingWindowInDays Tags",
)
def key(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    kms = ctx.client("kms")
    owner = f"{ctx.stack_name}/{logical_id}"
    key_id = _find(kms, owner)
    policy = parse_json(props["KeyPolicy"]) if "KeyPolicy" in props else None
    if key_id is None:
        request: dict[str, Any] = {"Tags": [{"TagKey": _OWNER_TAG, "TagValue": owner}] + [
            {"TagKey": t["Key"], "TagValue": t["Value"]} for t in tag_list(props.get("Tags"))
        ]}
        for prop, api in (("Description", "Description"), ("KeySpec", "KeySpec"), ("KeyUsage", "KeyUsage")):
            if prop in props:
                request[api] = props[prop]
        if policy is not None:
            request["Policy"] = as_json(policy)
        if "MultiRegion" in props:
            request["MultiRegion"] = bool_str(props["MultiRegion"]) == "true"
        key_id = kms.create_key(**request)["KeyMetadata"]["KeyId"]
        action = "created"
    else:
        action = "unchanged"
        if policy is not None and json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) != policy:
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=as_json(policy))
            action = "updated"
    if bool_str(props.get("EnableKeyRotation", False)) == "true":
        if not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]:
            kms.enable_key_rotation(KeyId=key_id)
            action = "updated" if action == "unchanged" else action
    if "Enabled" in props and bool_str(props["Enabled"]) == "false":
        kms.disable_key(KeyId=key_id)
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    return Outcome(key_id, {"Arn": arn, "KeyId": key_id}, action)  # type: ignore[arg-type]


def _find(kms: Any, owner: str) -> str | None:
    for page in kms.get_paginator("list_keys").paginate():
        for entry in page["Keys"]:
            tags = kms.list_resource_tags(KeyId=entry["KeyId"]).get("Tags", [])
            if {"TagKey": _OWNER_TAG, "TagValue": owner} in tags:
                state = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]["KeyState"]
                if state != "PendingDeletion":
                    return str(entry["KeyId"])
    return None


@provisioner("AWS::KMS::Alias", "kms", "AliasName TargetKeyId")
def alias(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    kms = ctx.client("kms")
    name, target = props["AliasName"], props["TargetKeyId"]
    target_id = kms.describe_key(KeyId=target)["KeyMetadata"]["KeyId"]
    current = next((a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == name), None)
    if current is None:
        kms.create_alias(AliasName=name, TargetKeyId=target_id)
        action = "created"
    elif current.get("TargetKeyId") != target_id:
        kms.update_alias(AliasName=name, TargetKeyId=target_id)
        action = "updated"
    else:
        action = "unchanged"
    return Outcome(name, {}, action)  # type: ignore[arg-type]


PROVISIONERS = (key, alias)
