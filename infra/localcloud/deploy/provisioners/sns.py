"""SNS topics, subscriptions and topic policies."""

from __future__ import annotations

import json
from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, as_json, bool_str, parse_json, provisioner, tag_list

_TOPIC_ATTRIBUTES = ("DisplayName", "KmsMasterKeyId", "SignatureVersion", "TracingConfig")


@provisioner(
    "AWS::SNS::Topic",
    "sns",
    "TopicName DisplayName FifoTopic ContentBasedDeduplication KmsMasterKeyId SignatureVersion TracingConfig "
    "Subscription Tags ArchivePolicy",
)
def topic(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    sns = ctx.client("sns")
    fifo = bool_str(props.get("FifoTopic", False)) == "true"
    name = ctx.name(logical_id, props.get("TopicName"), max_len=256, suffix=".fifo" if fifo else "")
    desired = {k: str(props[k]) for k in _TOPIC_ATTRIBUTES if k in props}
    if "ContentBasedDeduplication" in props:
        desired["ContentBasedDeduplication"] = bool_str(props["ContentBasedDeduplication"])
    if "ArchivePolicy" in props:
        desired["ArchivePolicy"] = as_json(props["ArchivePolicy"])
    arn = ctx.arn("sns", name)
    try:
        actual = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    except sns.exceptions.NotFoundException:
        actual = None
    if actual is None:
        create: dict[str, Any] = {"Name": name, "Attributes": {**desired, **({"FifoTopic": "true"} if fifo else {})}}
        if props.get("Tags"):
            create["Tags"] = tag_list(props["Tags"])
        arn = sns.create_topic(**create)["TopicArn"]
        action, changed = "created", []
    else:
        changed = [k for k, v in desired.items() if str(actual.get(k, "")).lower() != v.lower()]
        for key in changed:
            sns.set_topic_attributes(TopicArn=arn, AttributeName=key, AttributeValue=desired[key])
        action = "updated" if changed else "unchanged"
    for inline in props.get("Subscription", []):
        added = _ensure_subscription(sns, arn, inline["Protocol"], inline["Endpoint"], {})
        if added[1] != "unchanged":
            action = "updated" if action == "unchanged" else action
            changed.append(f"subscription {inline['Endpoint']}")
    return Outcome(arn, {"TopicArn": arn, "TopicName": name}, action, ", ".join(changed))


def _subscription_attributes(props: dict[str, Any]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    if "RawMessageDelivery" in props:
        attributes["RawMessageDelivery"] = bool_str(props["RawMessageDelivery"])
    for key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy", "ReplayPolicy"):
        if key in props:
            attributes[key] = as_json(props[key])
    if "FilterPolicy" in props:
        attributes["FilterPolicyScope"] = str(props.get("FilterPolicyScope", "MessageAttributes"))
    if "SubscriptionRoleArn" in props:
        attributes["SubscriptionRoleArn"] = str(props["SubscriptionRoleArn"])
    return attributes


def _same(key: str, desired: str, actual: str | None) -> bool:
    if actual is None:
        return False
    if key in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy", "ReplayPolicy"):
        return parse_json(desired) == parse_json(actual)
    return desired.lower() == actual.lower()


def _ensure_subscription(sns: Any, topic_arn: str, protocol: str, endpoint: str, desired: dict[str, str]) -> tuple[str, str, str]:
    """(subscription arn, action, detail): finds an existing subscription so redeploys never duplicate it."""
    existing = None
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for sub in page["Subscriptions"]:
            if sub["Protocol"] == protocol and sub["Endpoint"] == endpoint:
                existing = sub["SubscriptionArn"]
    if existing is None:
        arn = sns.subscribe(
            TopicArn=topic_arn, Protocol=protocol, Endpoint=endpoint, Attributes=desired, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        return arn, "created", ""
    actual = sns.get_subscription_attributes(SubscriptionArn=existing)["Attributes"]
    changed = [k for k, v in desired.items() if not _same(k, v, actual.get(k))]
    for key in changed:
        sns.set_subscription_attributes(SubscriptionArn=existing, AttributeName=key, AttributeValue=desired[key])
    return existing, "updated" if changed else "unchanged", ", ".join(changed)


@provisioner(
    "AWS::SNS::Subscription",
    "sns",
    "TopicArn Protocol Endpoint RawMessageDelivery FilterPolicy FilterPolicyScope RedrivePolicy DeliveryPolicy "
    "SubscriptionRoleArn Region ReplayPolicy",
)
def subscription(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    arn, action, detail = _ensure_subscription(
        ctx.client("sns"), props["TopicArn"], props["Protocol"], props["Endpoint"], _subscription_attributes(props)
    )
    return Outcome(arn, {}, action, detail)  # type: ignore[arg-type]


@provisioner("AWS::SNS::TopicPolicy", "sns", "Topics PolicyDocument")
def topic_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    return _set_policies(ctx, logical_id, props["Topics"], props["PolicyDocument"])


@provisioner("AWS::SNS::TopicInlinePolicy", "sns", "TopicArn PolicyDocument")
def topic_inline_policy(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    return _set_policies(ctx, logical_id, [props["TopicArn"]], props["PolicyDocument"])


def _set_policies(ctx: Context, logical_id: str, arns: list[str], policy: Any) -> Outcome:
    sns = ctx.client("sns")
    document = parse_json(policy)
    changed = []
    for arn in arns:
        actual = sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy")
        if actual is None or json.loads(actual) != document:
            sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=as_json(document))
            changed.append(arn)
    # Every topic has a default policy, so "created" cannot be told from "updated": report the change.
    return Outcome(ctx.name(logical_id), {}, "updated" if changed else "unchanged", ", ".join(changed))


PROVISIONERS = (topic, subscription, topic_policy, topic_inline_policy)
