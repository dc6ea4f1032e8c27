"""IAM roles and policies: created so ARNs resolve and policies can be read; nothing enforces them locally."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from localcloud.deploy.provisioners.base import Context, Outcome, as_json, parse_json, provisioner, tag_list


def _document(value: Any) -> Any:
    return json.loads(unquote(value)) if isinstance(value, str) else value


def _versioned(document: Any) -> Any:
    """AWS reads a policy without `Version` as 2008-10-17 (SAM emits some); moto refuses those, so say 2012-10-17."""
    document = parse_json(document)
    return {"Version": "2012-10-17", **document} if isinstance(document, dict) else document


@provisioner(
    "AWS::IAM::Role",
    "iam",
    "RoleName AssumeRolePolicyDocument Path ManagedPolicyArns Policies Description MaxSessionDuration "
    "PermissionsBoundary Tags",
)
def role(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    iam = ctx.client("iam")
    name = ctx.name(logical_id, props.get("RoleName"), max_len=64)
    trust = _versioned(props["AssumeRolePolicyDocument"])
    changed: list[str] = []
    try:
        current = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current is None:
        kwargs: dict[str, Any] = {"RoleName": name, "AssumeRolePolicyDocument": as_json(trust), "Path": props.get("Path", "/")}
        for key in ("Description", "MaxSessionDuration", "PermissionsBoundary"):
            if key in props:
                kwargs[key] = int(props[key]) if key == "MaxSessionDuration" else props[key]
        if props.get("Tags"):
            kwargs["Tags"] = tag_list(props["Tags"])
        current = iam.create_role(**kwargs)["Role"]
        action = "created"
    else:
        if _document(current["AssumeRolePolicyDocument"]) != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=as_json(trust))
            changed.append("AssumeRolePolicyDocument")
        action = "unchanged"
    managed_changes, notes = _sync_managed(iam, name, set(props.get("ManagedPolicyArns", [])))
    changed += managed_changes
    inline = {p["PolicyName"]: _versioned(p["PolicyDocument"]) for p in props.get("Policies", [])}
    # Only the role's own policies: AWS::IAM::Policy resources put theirs on the same role.
    changed += _sync_inline(iam, name, inline)
    if action == "unchanged" and changed:
        action = "updated"
    detail = ", ".join((changed if action == "updated" else []) + notes)
    return Outcome(name, {"Arn": current["Arn"], "RoleId": current["RoleId"]}, action, detail)  # type: ignore[arg-type]


def _sync_managed(iam: Any, role_name: str, desired: set[str]) -> tuple[list[str], list[str]]:
    """(changes, notes). moto only knows AWS managed policies when started with
    MOTO_IAM_LOAD_MANAGED_POLICIES=true; an unknown one is noted in the report, since nothing
    enforces IAM locally, rather than failing the deploy."""
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]}
    notes, changed = [], False
    for arn in sorted(desired - attached):
        try:
            iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
            changed = True
        except iam.exceptions.NoSuchEntityException:
            if ":iam::aws:policy/" not in arn:
                raise
            notes.append(f"AWS managed policy {arn.rsplit('/', 1)[1]} unknown to the emulator, not attached")
    for arn in sorted(attached - desired):
        iam.detach_role_policy(RoleName=role_name, PolicyArn=arn)
        changed = True
    return (["ManagedPolicyArns"] if changed else []), notes


def _sync_inline(iam: Any, role_name: str, desired: dict[str, Any]) -> list[str]:
    """Put each inline policy that differs from the template.

    Policies are never deleted: one dropped from the template cannot be told from one another
    resource (AWS::IAM::Policy) put on the same role. Nothing enforces IAM locally, so a left-over
    policy is only clutter."""
    existing = set(iam.list_role_policies(RoleName=role_name)["PolicyNames"])
    changed = []
    for name, document in desired.items():
        if name not in existing or _document(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]) != document:
            iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=as_json(document))
            changed.append(name)
    return ["Policies"] if changed else []


@provisioner("AWS::IAM::Policy", "iam", "PolicyName PolicyDocument Roles Users Groups")
def policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    if props.get("Users") or props.get("Groups"):
        raise ValueError("AWS::IAM::Policy for Users/Groups is not supported locally (roles only)")
    iam = ctx.client("iam")
    document = _versioned(props["PolicyDocument"])
    changed, created = [], True
    for role_name in props.get("Roles", []):
        existing = set(iam.list_role_policies(RoleName=role_name)["PolicyNames"])
        created = created and props["PolicyName"] not in existing
        changed += _sync_inline(iam, role_name, {props["PolicyName"]: document})
    action = "created" if created else ("updated" if changed else "unchanged")
    return Outcome(ctx.name(logical_id), {}, action)  # type: ignore[arg-type]


@provisioner("AWS::IAM::ManagedPolicy", "iam", "ManagedPolicyName PolicyDocument Roles Path Description")
def managed_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    iam = ctx.client("iam")
    name = ctx.name(logical_id, props.get("ManagedPolicyName"), max_len=128)
    path = props.get("Path", "/")
    arn = ctx.arn("iam", f"policy{path}{name}", region=False)
    document = _versioned(props["PolicyDocument"])
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        current = _document(iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current is None:
        kwargs = {"PolicyName": name, "PolicyDocument": as_json(document), "Path": path}
        if "Description" in props:
            kwargs["Description"] = props["Description"]
        arn = iam.create_policy(**kwargs)["Policy"]["Arn"]
        action = "created"
    elif current != document:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=as_json(document), SetAsDefault=True)
        action = "updated"
    else:
        action = "unchanged"
    for role_name in props.get("Roles", []):
        attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]}
        if arn not in attached:
            iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
            action = "updated" if action == "unchanged" else action
    return Outcome(arn, {"PolicyArn": arn}, action)  # type: ignore[arg-type]


PROVISIONERS = (role, policy, managed_policy)
