"""Support for "replaying changes nothing" tests: a whole stack's state, and waiting until it is quiet.

A snapshot is everything a replay could change: every table's items (sorted by key), every
bucket's keys with their ETags (content hashes: a rewrite with identical bytes keeps its
ETag), every queue's depth, and the payment provider's ledger. Two snapshots compare with `==`;
`diff` says where they differ.
"""

from __future__ import annotations

import json
import time
from typing import Any

from localcloud.cloud import LocalCloud

TABLE, BUCKET, QUEUE = "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue"


def snapshot(cloud: LocalCloud) -> dict[str, Any]:
    dynamodb, s3, sqs = cloud.client("dynamodb"), cloud.client("s3"), cloud.client("sqs")
    state: dict[str, Any] = {}
    for resource in cloud.stack.resources.values():
        if resource.type == TABLE:
            items = [item for page in dynamodb.get_paginator("scan").paginate(TableName=resource.physical_id) for item in page["Items"]]
            state[resource.logical_id] = sorted(json.dumps(item, sort_keys=True) for item in items)
        elif resource.type == BUCKET:
            state[resource.logical_id] = {
                obj["Key"]: obj["ETag"]
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resource.physical_id)
                for obj in page.get("Contents", [])
            }
        elif resource.type == QUEUE:
            attrs = sqs.get_queue_attributes(
                QueueUrl=resource.physical_id, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            state[resource.logical_id] = (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"])
    payments = cloud.sidecars.get("payments")
    if payments is not None:
        state["payment ledger"] = payments.ledger()  # type: ignore[attr-defined]
    return state


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Human-readable differences, one line per resource."""
    lines = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            added = sorted(set(b) - set(a))
            removed = sorted(set(a) - set(b))
            changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
            lines.append(f"{name}: +{len(added)} {added[:3]} -{len(removed)} {removed[:3]} ~{len(changed)} {changed[:3]}")
        elif isinstance(a, list) and isinstance(b, list):
            lines.append(f"{name}: {len(a)} -> {len(b)} items; new: {[x for x in b if x not in a][:2]}; gone: {[x for x in a if x not in b][:2]}")
        else:
            lines.append(f"{name}: {a!r} -> {b!r}")
    return lines


def wait_quiet(cloud: LocalCloud, *, timeout_s: float = 120, quiet_s: float = 2.0) -> float:
    """Until no consumed queue holds a message and no invocation started for `quiet_s`; returns when.

    Invocation counters (not just in-flight) are compared across the quiet window because a
    stream poller may pick up a record between two polls. DLQs are not consumed: what sits in
    them does not keep the stack busy.
    """
    sqs = cloud.client("sqs")
    consumed = [source.queue_url for spec in cloud.stack.functions.values() for source in spec.sqs_sources]
    deadline = time.monotonic() + timeout_s
    last_change, last_seen = time.monotonic(), None
    while True:
        stats = cloud.runtime.stats()
        busy = any(s.get("in_flight") or s.get("async_pending") for s in stats.values())
        for url in consumed:
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            busy = busy or attrs["ApproximateNumberOfMessages"] != "0" or attrs["ApproximateNumberOfMessagesNotVisible"] != "0"
        seen = {name: s.get("invocations") for name, s in stats.items()}
        now = time.monotonic()
        if busy or seen != last_seen:
            last_change, last_seen = now, seen
        elif now - last_change >= quiet_s:
            return now
        if now > deadline:
            raise AssertionError(f"the stack did not go quiet within {timeout_s}s: {stats}")
        time.sleep(0.2)
