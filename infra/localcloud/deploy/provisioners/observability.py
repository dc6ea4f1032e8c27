"""Log groups, alarms and dashboards: created so operators' tooling finds them locally too."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.provisioners.base import Context, Outcome, matches, provisioner


@provisioner("AWS::Logs::LogGroup", "logs", "LogGroupName RetentionInDays KmsKeyId LogGroupClass Tags")
def log_group(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    logs = ctx.client("logs")
    name = ctx.name(logical_id, props.get("LogGroupName"), max_len=512)
    found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    retention = int(props["RetentionInDays"]) if "RetentionInDays" in props else None
    if not found:
        kwargs: dict[str, Any] = {"logGroupName": name}
        if "KmsKeyId" in props:
            kwargs["kmsKeyId"] = props["KmsKeyId"]
        if props.get("Tags"):
            kwargs["tags"] = {t["Key"]: t["Value"] for t in props["Tags"]}
        logs.create_log_group(**kwargs)
        action = "created"
    else:
        action = "unchanged" if found[0].get("retentionInDays") == retention else "updated"
    if action != "unchanged":
        if retention is None:
            logs.delete_retention_policy(logGroupName=name)
        else:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
    return Outcome(name, {"Arn": ctx.arn("logs", f"log-group:{name}:*")}, action)  # type: ignore[arg-type]


def _metric_transformation(spec: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's PascalCase (Dimensions as Key/Value list) -> the Logs API's camelCase (a map)."""
    out: dict[str, Any] = {k[0].lower() + k[1:]: v for k, v in spec.items() if k not in ("Dimensions", "DefaultValue")}
    if "DefaultValue" in spec:
        out["defaultValue"] = float(spec["DefaultValue"])
    if spec.get("Dimensions"):
        out["dimensions"] = {d["Key"]: d["Value"] for d in spec["Dimensions"]}
    return out


@provisioner("AWS::Logs::MetricFilter", "logs", "FilterName FilterPattern LogGroupName MetricTransformations")
def metric_filter(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    logs = ctx.client("logs")
    name = ctx.name(logical_id, props.get("FilterName"), max_len=512)
    group = props["LogGroupName"]
    transformations = [_metric_transformation(t) for t in props["MetricTransformations"]]
    desired = {"filterName": name, "filterPattern": props["FilterPattern"], "metricTransformations": transformations}
    current = logs.describe_metric_filters(logGroupName=group, filterNamePrefix=name)["metricFilters"]
    current = [f for f in current if f["filterName"] == name]
    if current and matches(desired, current[0]):
        return Outcome(name, {}, "unchanged")
    logs.put_metric_filter(logGroupName=group, **desired)
    return Outcome(name, {}, "updated" if current else "created")


_ALARM_KEYS = (
    "AlarmName AlarmDescription ActionsEnabled AlarmActions OKActions InsufficientDataActions MetricName Namespace "
    "Statistic ExtendedStatistic Dimensions Period Unit EvaluationPeriods DatapointsToAlarm Threshold "
    "ComparisonOperator TreatMissingData EvaluateLowSampleCountPercentile Metrics ThresholdMetricId"
)


def _alarm_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    request = {k: v for k, v in props.items() if k != "AlarmName"}
    request["AlarmName"] = name
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in request:
            request[key] = int(request[key])
    if "Threshold" in request:
        request["Threshold"] = float(request["Threshold"])
    if "ActionsEnabled" in request:
        request["ActionsEnabled"] = str(request["ActionsEnabled"]).lower() == "true"
    for metric in request.get("Metrics", []):
        if "ReturnData" in metric:
            metric["ReturnData"] = str(metric["ReturnData"]).lower() == "true"
        stat = metric.get("MetricStat")
        if stat and "Period" in stat:
            stat["Period"] = int(stat["Period"])
    return request


@provisioner("AWS::CloudWatch::Alarm", "cloudwatch", _ALARM_KEYS)
def alarm(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    cloudwatch = ctx.client("cloudwatch")
    name = ctx.name(logical_id, props.get("AlarmName"), max_len=255)
    request = _alarm_request(name, props)
    current = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if current and matches(request, current[0]):
        action = "unchanged"
    else:
        cloudwatch.put_metric_alarm(**request)
        action = "updated" if current else "created"
    arn = ctx.arn("cloudwatch", f"alarm:{name}")
    return Outcome(name, {"Arn": arn}, action)  # type: ignore[arg-type]


@provisioner("AWS::CloudWatch::Dashboard", "cloudwatch", "DashboardName DashboardBody")
def dashboard(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    cloudwatch = ctx.client("cloudwatch")
    name = ctx.name(logical_id, props.get("DashboardName"), max_len=255)
    try:
        current = cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"]
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("ResourceNotFound", "DashboardNotFoundError", "ResourceNotFoundException"):
            raise
        current = None
    if current == props["DashboardBody"]:
        return Outcome(name, {}, "unchanged")
    cloudwatch.put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
    return Outcome(name, {}, "created" if current is None else "updated")


PROVISIONERS = (log_group, metric_filter, alarm, dashboard)
