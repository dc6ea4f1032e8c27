"""SQS queues and queue policies."""

from __future__ import annotations

import json
from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, as_json, bool_str, parse_json, provisioner, tag_map

# CloudFormation property -> SQS attribute, for the attributes that are plain values.
_PLAIN = {
    "DelaySeconds": "DelaySeconds",
    "MaximumMessageSize": "MaximumMessageSize",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout": "VisibilityTimeout",
    "KmsMasterKeyId": "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "DeduplicationScope": "DeduplicationScope",
    "FifoThroughputLimit": "FifoThroughputLimit",
}
_BOOLEAN = {"ContentBasedDeduplication", "SqsManagedSseEnabled"}
# What an attribute returns to when the template stops setting it, as CloudFormation resets it.
_DEFAULTS = {"DelaySeconds": "0", "MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30"}


def _desired_attributes(props: dict[str, Any]) -> dict[str, str]:
    attributes = dict(_DEFAULTS)
    for prop, attribute in _PLAIN.items():
        if prop in props:
            attributes[attribute] = str(props[prop])
    for prop in _BOOLEAN:
        if prop in props:
            attributes[prop] = bool_str(props[prop])
    for prop in ("RedrivePolicy", "RedriveAllowPolicy"):
        if prop in props:
            attributes[prop] = as_json(_normalise_redrive(parse_json(props[prop])))
    return attributes


def _normalise_redrive(policy: Any) -> Any:
    """SQS stores maxReceiveCount as a number; templates often give it as a string."""
    if isinstance(policy, dict) and "maxReceiveCount" in policy:
        policy = {**policy, "maxReceiveCount": int(policy["maxReceiveCount"])}
    return policy


def _same(attribute: str, desired: str, actual: str | None) -> bool:
    if actual is None:
        return False
    if attribute in ("RedrivePolicy", "RedriveAllowPolicy"):
        return _normalise_redrive(parse_json(desired)) == _normalise_redrive(parse_json(actual))
    return desired.lower() == actual.lower()


@provisioner(
    "AWS::SQS::Queue",
    "sqs",
    "QueueName FifoQueue ContentBasedDeduplication DeduplicationScope FifoThroughputLimit DelaySeconds "
    "MaximumMessageSize MessageRetentionPeriod ReceiveMessageWaitTimeSeconds VisibilityTimeout RedrivePolicy "
    "RedriveAllowPolicy KmsMasterKeyId KmsDataKeyReusePeriodSeconds SqsManagedSseEnabled Tags",
)
def queue(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    sqs = ctx.client("sqs")
    fifo = bool_str(props.get("FifoQueue", False)) == "true"
    name = ctx.name(logical_id, props.get("QueueName"), max_len=80, suffix=".fifo" if fifo else "")
    desired = _desired_attributes(props)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = None
    if url is None:
        create = dict(desired)
        if fifo:
            create["FifoQueue"] = "true"
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": create}
        if props.get("Tags"):
            kwargs["tags"] = tag_map(props["Tags"])
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        action = "created"
        detail = ""
    else:
        actual = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        if (actual.get("FifoQueue", "false").lower() == "true") != fifo:
            raise ValueError(f"queue {name} exists with a different FifoQueue setting; delete it to redeploy")
        changed = {k: v for k, v in desired.items() if not _same(k, v, actual.get(k))}
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        action = "updated" if changed else "unchanged"
        detail = ", ".join(sorted(changed))
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Outcome(url, {"Arn": arn, "QueueName": name, "QueueUrl": url}, action, detail)


@provisioner("AWS::SQS::QueuePolicy", "sqs", "Queues PolicyDocument")
def queue_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    return _set_policies(ctx, logical_id, props["Queues"], props["PolicyDocument"])


@provisioner("AWS::SQS::QueueInlinePolicy", "sqs", "Queue PolicyDocument")
def queue_inline_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    return _set_policies(ctx, logical_id, [props["Queue"]], props["PolicyDocument"])


def _set_policies(ctx: Context, logical_id: str, urls: list[str], policy: Any) -> Outcome:
    sqs = ctx.client("sqs")
    document = parse_json(policy)
    changed, had_policy = [], False
    for url in urls:
        actual = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
        had_policy = had_policy or actual is not None
        if actual is None or json.loads(actual) != document:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": as_json(document)})
            changed.append(url)
    action = ("updated" if had_policy else "created") if changed else "unchanged"
    return Outcome(ctx.name(logical_id), {}, action, ", ".join(changed) if had_policy else "")


PROVISIONERS = (queue, queue_policy, queue_inline_policy)
