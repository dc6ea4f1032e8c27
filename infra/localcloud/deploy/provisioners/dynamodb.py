"""DynamoDB tables: keys, indexes, billing, streams, TTL, point-in-time recovery, SSE."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.provisioners.base import Context, Outcome, bool_str, provisioner, tag_list


def _throughput(spec: dict[str, Any] | None) -> dict[str, int] | None:
    if not spec:
        return None
    return {"ReadCapacityUnits": int(spec["ReadCapacityUnits"]), "WriteCapacityUnits": int(spec["WriteCapacityUnits"])}


def _index(spec: dict[str, Any], provisioned: bool) -> dict[str, Any]:
    index = {"IndexName": spec["IndexName"], "KeySchema": spec["KeySchema"], "Projection": spec["Projection"]}
    if provisioned and spec.get("ProvisionedThroughput"):
        index["ProvisionedThroughput"] = _throughput(spec["ProvisionedThroughput"])
    return index


def _stream(props: dict[str, Any]) -> dict[str, Any]:
    view = (props.get("StreamSpecification") or {}).get("StreamViewType")
    return {"StreamEnabled": True, "StreamViewType": view} if view else {"StreamEnabled": False}


@provisioner(
    "AWS::DynamoDB::Table",
    "dynamodb",
    "TableName AttributeDefinitions KeySchema BillingMode ProvisionedThroughput GlobalSecondaryIndexes "
    "LocalSecondaryIndexes StreamSpecification TimeToLiveSpecification PointInTimeRecoverySpecification "
    "SSESpecification TableClass DeletionProtectionEnabled Tags",
)
def table(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    ddb = ctx.client("dynamodb")
    name = ctx.name(logical_id, props.get("TableName"), max_len=255)
    billing = props.get("BillingMode", "PROVISIONED")
    provisioned = billing == "PROVISIONED"
    try:
        current = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        current = None
    changes: list[str] = []
    if current is None:
        _create(ddb, name, props, provisioned)
        action = "created"
    else:
        changes = _update(ddb, name, props, current, provisioned)
        action = "updated" if changes else "unchanged"
    changes += _sync_ttl(ddb, name, props.get("TimeToLiveSpecification"))
    pitr = _sync_pitr(ddb, name, props.get("PointInTimeRecoverySpecification"))
    changes += pitr or []
    if changes and action == "unchanged":
        action = "updated"
    notes = [", ".join(changes)] if action == "updated" else []
    if pitr is None:
        notes.append(_NO_PITR)
    described = ddb.describe_table(TableName=name)["Table"]
    attributes = {"Arn": described["TableArn"]}
    if described.get("LatestStreamArn"):
        attributes["StreamArn"] = described["LatestStreamArn"]
    return Outcome(name, attributes, action, "; ".join(notes))  # type: ignore[arg-type]


def _create(ddb: Any, name: str, props: dict[str, Any], provisioned: bool) -> None:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
        "StreamSpecification": _stream(props),
    }
    if provisioned:
        kwargs["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput")) or {
            "ReadCapacityUnits": 5,
            "WriteCapacityUnits": 5,
        }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = [_index(i, provisioned) for i in props["GlobalSecondaryIndexes"]]
    if props.get("LocalSecondaryIndexes"):
        kwargs["LocalSecondaryIndexes"] = [_index(i, False) for i in props["LocalSecondaryIndexes"]]
    sse = props.get("SSESpecification")
    if sse:
        kwargs["SSESpecification"] = {
            k: v
            for k, v in {
                "Enabled": bool_str(sse.get("SSEEnabled", False)) == "true",
                "SSEType": sse.get("SSEType"),
                "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
            }.items()
            if v is not None
        }
    for key in ("TableClass",):
        if key in props:
            kwargs[key] = props[key]
    if "DeletionProtectionEnabled" in props:
        kwargs["DeletionProtectionEnabled"] = bool_str(props["DeletionProtectionEnabled"]) == "true"
    if props.get("Tags"):
        kwargs["Tags"] = tag_list(props["Tags"])
    ddb.create_table(**kwargs)
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _update(ddb: Any, name: str, props: dict[str, Any], current: dict[str, Any], provisioned: bool) -> list[str]:
    """Bring an existing table to the template; key schema changes need a replacement CloudFormation would do."""
    if sorted(map(str, current["KeySchema"])) != sorted(map(str, props["KeySchema"])):
        raise ValueError(f"table {name} exists with a different KeySchema; delete it to redeploy (replacement)")
    changes: list[str] = []
    current_billing = current.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if current_billing != props.get("BillingMode", "PROVISIONED"):
        update: dict[str, Any] = {"TableName": name, "BillingMode": props.get("BillingMode", "PROVISIONED")}
        if provisioned:
            update["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput")) or {
                "ReadCapacityUnits": 5,
                "WriteCapacityUnits": 5,
            }
        ddb.update_table(**update)
        changes.append("BillingMode")
    desired_stream = _stream(props)
    current_stream = current.get("StreamSpecification") or {"StreamEnabled": False}
    if bool(current_stream.get("StreamEnabled")) != desired_stream["StreamEnabled"] or (
        desired_stream["StreamEnabled"] and current_stream.get("StreamViewType") != desired_stream["StreamViewType"]
    ):
        if current_stream.get("StreamEnabled"):
            ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        if desired_stream["StreamEnabled"]:
            ddb.update_table(TableName=name, StreamSpecification=desired_stream)
        changes.append("StreamSpecification")
    current_gsis = {i["IndexName"] for i in current.get("GlobalSecondaryIndexes", [])}
    desired_gsis = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    updates: list[dict[str, Any]] = [{"Delete": {"IndexName": n}} for n in sorted(current_gsis - set(desired_gsis))]
    updates += [{"Create": _index(desired_gsis[n], provisioned)} for n in sorted(set(desired_gsis) - current_gsis)]
    for update in updates:  # DynamoDB takes one index change per call
        ddb.update_table(
            TableName=name, AttributeDefinitions=props["AttributeDefinitions"], GlobalSecondaryIndexUpdates=[update]
        )
    if updates:
        changes.append("GlobalSecondaryIndexes")
    return changes


def _sync_ttl(ddb: Any, name: str, spec: dict[str, Any] | None) -> list[str]:
    current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    enabled = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    want = bool(spec) and bool_str(spec.get("Enabled", False)) == "true"
    if want and (not enabled or current.get("AttributeName") != spec["AttributeName"]):  # type: ignore[index]
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": True}  # type: ignore[index]
        )
        return ["TimeToLiveSpecification"]
    if not want and enabled:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": current["AttributeName"], "Enabled": False}
        )
        return ["TimeToLiveSpecification"]
    return []


_NO_PITR = "PointInTimeRecoverySpecification not applied: this emulator has no continuous-backups API"


def _sync_pitr(ddb: Any, name: str, spec: dict[str, Any] | None) -> list[str] | None:
    """The change made, or None where the emulator has no backups API (DynamoDB Local): nothing the local
    cloud runs reads or restores a backup, so the table works the same; the deploy report says it."""
    want = bool(spec) and bool_str(spec.get("PointInTimeRecoveryEnabled", False)) == "true"
    try:
        description = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "UnknownOperationException":
            return None
        raise
    status = description.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
    if (status == "ENABLED") == want:
        return []
    ddb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": want}
    )
    return ["PointInTimeRecoverySpecification"]


PROVISIONERS = (table,)
