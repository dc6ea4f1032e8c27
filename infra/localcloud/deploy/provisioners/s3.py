"""S3 buckets (encryption, public access block, versioning, lifecycle, CORS, notifications) and bucket policies.

CloudFormation's S3 property shapes differ from the S3 API's (`Rules[].ExpirationInDays` vs
`Rules[].Expiration.Days`, `S3Key.Rules` vs `Key.FilterRules`); the converters below are the
whole of that mapping. Notifications to Lambda are not sent to the emulator (it would try to
run the function itself): they are kept in the bucket's attributes for the local runtime.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.provisioners.base import Context, Outcome, bool_str, matches, parse_json, provisioner, tag_list


def bucket_name(ctx: Context, logical_id: str, explicit: Any) -> str:
    """S3 names are global, lower case, 3-63 chars of [a-z0-9.-]: the default name is folded to fit."""
    if explicit:
        return str(explicit)
    name = re.sub(r"[^a-z0-9.-]", "-", f"{ctx.stack_name}-{logical_id}".lower()).strip("-.")
    if len(name) > 63:
        name = f"{name[:54].rstrip('-.')}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return name.ljust(3, "0")


def _filter(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    if not spec or not spec.get("S3Key"):
        return None
    return {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in spec["S3Key"].get("Rules", [])]}}


def _notification(logical_id: str, spec: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for kind, target_key, arn_key in (("QueueConfigurations", "Queue", "QueueArn"), ("TopicConfigurations", "Topic", "TopicArn")):
        entries = []
        for index, entry in enumerate(spec.get(kind, [])):
            item = {"Id": f"{logical_id}-{target_key}-{index}", arn_key: entry[target_key], "Events": [entry["Event"]]}
            if _filter(entry.get("Filter")):
                item["Filter"] = _filter(entry.get("Filter"))
            entries.append(item)
        if entries:
            config[kind] = entries
    if "EventBridgeConfiguration" in spec:
        enabled = bool_str(spec["EventBridgeConfiguration"].get("EventBridgeEnabled", True)) == "true"
        if enabled:
            config["EventBridgeConfiguration"] = {}
    return config


def lambda_notifications(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The `LambdaConfigurations` in the S3 API's shape (Events, LambdaFunctionArn, Filter)."""
    result = []
    for entry in (spec or {}).get("LambdaConfigurations", []):
        item = {"LambdaFunctionArn": entry["Function"], "Events": [entry["Event"]]}
        if _filter(entry.get("Filter")):
            item["Filter"] = _filter(entry.get("Filter"))
        result.append(item)
    return result


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    prefix = rule.get("Prefix")
    tags = rule.get("TagFilters")
    if tags:
        and_: dict[str, Any] = {"Tags": [{"Key": t["Key"], "Value": t["Value"]} for t in tags]}
        if prefix:
            and_["Prefix"] = prefix
        out["Filter"] = {"And": and_} if prefix or len(tags) > 1 else {"Tag": and_["Tags"][0]}
    else:
        out["Filter"] = {"Prefix": prefix or ""}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    elif "ExpirationDate" in rule:
        out["Expiration"] = {"Date": rule["ExpirationDate"]}
    elif "ExpiredObjectDeleteMarker" in rule:
        out["Expiration"] = {"ExpiredObjectDeleteMarker": bool_str(rule["ExpiredObjectDeleteMarker"]) == "true"}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    elif "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    transitions = list(rule.get("Transitions", [])) + ([rule["Transition"]] if "Transition" in rule else [])
    if transitions:
        out["Transitions"] = [
            {"StorageClass": t["StorageClass"], **({"Days": int(t["TransitionInDays"])} if "TransitionInDays" in t else {})}
            for t in transitions
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return out


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    renames = {"Id": "ID", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds"}
    return {renames.get(k, k): (int(v) if k == "MaxAge" else v) for k, v in rule.items()}


def _encryption(spec: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for rule in spec["ServerSideEncryptionConfiguration"]:
        out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
        if "BucketKeyEnabled" in rule:
            out["BucketKeyEnabled"] = bool_str(rule["BucketKeyEnabled"]) == "true"
        rules.append(out)
    return {"Rules": rules}


def _read(call: Any, key: str, missing_codes: tuple[str, ...], **kwargs: Any) -> Any:
    """A bucket sub-resource, or None when S3 says it was never set."""
    try:
        response = call(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] in missing_codes:
            return None
        raise
    return response.get(key) if key else {k: v for k, v in response.items() if k != "ResponseMetadata"}


@provisioner(
    "AWS::S3::Bucket",
    "s3",
    "BucketName BucketEncryption PublicAccessBlockConfiguration VersioningConfiguration LifecycleConfiguration "
    "NotificationConfiguration CorsConfiguration OwnershipControls Tags",
)
def bucket(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    s3 = ctx.client("s3")
    name = bucket_name(ctx, logical_id, props.get("BucketName"))
    try:
        s3.head_bucket(Bucket=name)
        exists = True
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
        exists = False
    if not exists:
        create: dict[str, Any] = {"Bucket": name}
        if ctx.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
        s3.create_bucket(**create)
    changed = _sync_bucket(s3, name, logical_id, props)
    action = "created" if not exists else ("updated" if changed else "unchanged")
    attributes = {
        "Arn": f"arn:{ctx.partition}:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
        "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.amazonaws.com",
        "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.amazonaws.com",
        "LambdaConfigurations": lambda_notifications(props.get("NotificationConfiguration")),
    }
    return Outcome(name, attributes, action, ", ".join(changed) if exists else "")  # type: ignore[arg-type]


def _sync_bucket(s3: Any, name: str, logical_id: str, props: dict[str, Any]) -> list[str]:
    """Apply each configured sub-resource whose current state differs; returns the names changed."""
    changed: list[str] = []

    def sync(prop: str, desired: Any, current: Any, put: Any) -> None:
        if desired is not None and not matches(desired, current):
            put(desired)
            changed.append(prop)

    if "BucketEncryption" in props:
        sync(
            "BucketEncryption",
            _encryption(props["BucketEncryption"]),
            _read(s3.get_bucket_encryption, "ServerSideEncryptionConfiguration", ("ServerSideEncryptionConfigurationNotFoundError",), Bucket=name),
            lambda d: s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=d),
        )
    if "PublicAccessBlockConfiguration" in props:
        desired = {k: bool_str(v) == "true" for k, v in props["PublicAccessBlockConfiguration"].items()}
        sync(
            "PublicAccessBlockConfiguration",
            desired,
            _read(s3.get_public_access_block, "PublicAccessBlockConfiguration", ("NoSuchPublicAccessBlockConfiguration",), Bucket=name),
            lambda d: s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=d),
        )
    if "VersioningConfiguration" in props:
        sync(
            "VersioningConfiguration",
            {"Status": props["VersioningConfiguration"]["Status"]},
            _read(s3.get_bucket_versioning, "", (), Bucket=name),
            lambda d: s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=d),
        )
    if "LifecycleConfiguration" in props:
        sync(
            "LifecycleConfiguration",
            [_lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]],
            _read(s3.get_bucket_lifecycle_configuration, "Rules", ("NoSuchLifecycleConfiguration",), Bucket=name),
            lambda d: s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": d}),
        )
    if "CorsConfiguration" in props:
        sync(
            "CorsConfiguration",
            [_cors_rule(r) for r in props["CorsConfiguration"]["CorsRules"]],
            _read(s3.get_bucket_cors, "CORSRules", ("NoSuchCORSConfiguration",), Bucket=name),
            lambda d: s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": d}),
        )
    if "OwnershipControls" in props:
        sync(
            "OwnershipControls",
            {"Rules": props["OwnershipControls"]["Rules"]},
            _read(s3.get_bucket_ownership_controls, "OwnershipControls", ("OwnershipControlsNotFoundError",), Bucket=name),
            lambda d: s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=d),
        )
    if props.get("Tags"):
        sync(
            "Tags",
            tag_list(props["Tags"]),
            _read(s3.get_bucket_tagging, "TagSet", ("NoSuchTagSet",), Bucket=name),
            lambda d: s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": d}),
        )
    if "NotificationConfiguration" in props:
        desired = _notification(logical_id, props["NotificationConfiguration"])
        current = _read(s3.get_bucket_notification_configuration, "", (), Bucket=name) or {}
        if not _same_notifications(desired, current):
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=desired)
            changed.append("NotificationConfiguration")
    return changed


def _same_notifications(desired: dict[str, Any], current: dict[str, Any]) -> bool:
    kinds = ("QueueConfigurations", "TopicConfigurations", "EventBridgeConfiguration")
    return all(matches(desired.get(kind), current.get(kind)) if kind in desired else not current.get(kind) for kind in kinds)


@provisioner("AWS::S3::BucketPolicy", "s3", "Bucket PolicyDocument")
def bucket_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    s3 = ctx.client("s3")
    name, document = props["Bucket"], parse_json(props["PolicyDocument"])
    current = _read(s3.get_bucket_policy, "Policy", ("NoSuchBucketPolicy",), Bucket=name)
    if current is not None and json.loads(current) == document:
        return Outcome(name, {}, "unchanged")
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(document))
    return Outcome(name, {}, "created" if current is None else "updated")


PROVISIONERS = (bucket, bucket_policy)
