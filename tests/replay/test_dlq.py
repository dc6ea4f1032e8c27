"""DLQ discovery, inspection and redrive against moto's SQS (which has no StartMessageMoveTask)."""

from __future__ import annotations

import json

import pytest

from ordertools.dlq import (
    RedrivePlan,
    depth,
    failure_reason,
    find_dead_letter_queue,
    find_dead_letter_queues,
    oldest_age_s,
    redrive,
)
from ordertools.sqs_messages import BodyFilter, peek
from ordertools.targets import TargetError


def _dead_letter(stack, source_logical_id: str, bodies: list[str], attributes: dict | None = None) -> None:
    """Push messages through the source queue's redrive policy: receive each until SQS moves it."""
    sqs = stack.sqs
    url = stack.resources[source_logical_id].physical_id
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes or {})
    for _ in range(10 * (len(bodies) + 1)):
        if not sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages"):
            break
    assert depth(sqs, url).visible == 0


def _bodies(sqs, url: str) -> list[str]:
    return sorted(m.body for m in peek(sqs, url, 100))


def test_finds_dlqs_from_redrive_policies_and_failure_destinations(stack):
    stack.queue("WorkDLQ")
    stack.queue("WorkQueue", dlq="WorkDLQ", max_receive_count=3)
    stack.queue("OtherQueue", dlq="WorkDLQ")
    stack.queue("RelayDLQ")
    stack.queue("PlainQueue")
    stack.failure_destinations[stack.arn("RelayDLQ")] = ("RelayFunction stream OnFailure",)

    dlqs = {d.logical_id: d for d in find_dead_letter_queues(stack.target())}

    assert set(dlqs) == {"WorkDLQ", "RelayDLQ"}
    assert sorted((s.url.rsplit("/", 1)[-1], s.max_receive_count) for s in dlqs["WorkDLQ"].sources) == [
        (f"{stack.prefix}-OtherQueue", 2),
        (f"{stack.prefix}-WorkQueue", 3),
    ]
    assert dlqs["RelayDLQ"].sources == () and dlqs["RelayDLQ"].failure_sources == ("RelayFunction stream OnFailure",)
    with pytest.raises(TargetError, match="no redrive policy"):
        find_dead_letter_queue(stack.target(), "PlainQueue")


def test_show_reports_receive_counts_age_and_reasons_without_consuming(stack):
    stack.queue("DLQ")
    stack.queue("Queue", dlq="DLQ", max_receive_count=2)
    _dead_letter(stack, "Queue", ['{"event_id": "e1"}'], {"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}})
    dlq = find_dead_letter_queue(stack.target(), "DLQ")

    first = peek(stack.sqs, dlq.url, 10)
    second = peek(stack.sqs, dlq.url, 10)

    assert [m.body for m in first] == [m.body for m in second] == ['{"event_id": "e1"}']
    assert first[0].message_attributes["event_type"]["StringValue"] == "OrderPlaced"
    assert first[0].receive_count >= 2
    assert "maxReceiveCount=2" in failure_reason(first[0], dlq)
    assert 0 <= oldest_age_s(first) < 60
    assert depth(stack.sqs, dlq.url).visible == 1


def test_failure_reason_reads_lambda_failure_records(stack):
    stack.queue("RelayDLQ")
    stack.failure_destinations[stack.arn("RelayDLQ")] = ("RelayFunction stream OnFailure",)
    record = {
        "requestContext": {
            "requestId": "r1",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:stack-Relay",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-01-01T00:00:00Z",
        "DDBStreamBatchInfo": {"batchSize": 2, "startSequenceNumber": "1", "endSequenceNumber": "2"},
    }
    stack.sqs.send_message(QueueUrl=stack.resources["RelayDLQ"].physical_id, MessageBody=json.dumps(record))
    dlq = find_dead_letter_queue(stack.target(), "RelayDLQ")

    (message,) = peek(stack.sqs, dlq.url, 5)

    reason = failure_reason(message, dlq)
    assert "RetryAttemptsExhausted" in reason and "stack-Relay" in reason and "functionError=Unhandled" in reason
    assert "invocations=3" in reason and "stream batch of 2" in reason
    with pytest.raises(TargetError, match="replay --from-dlq"):
        redrive(stack.target(), RedrivePlan(dlq=dlq), progress=False, wait_s=0)


def test_redrive_all_falls_back_to_moving_messages_and_keeps_attributes(stack):
    stack.queue("DLQ")
    queue_url = stack.queue("Queue", dlq="DLQ")
    bodies = [json.dumps({"n": i}) for i in range(23)]
    _dead_letter(stack, "Queue", bodies, {"event_type": {"DataType": "String", "StringValue": "OrderPlaced"}})
    dlq = find_dead_letter_queue(stack.target(), "DLQ")

    summary = redrive(stack.target(), RedrivePlan(dlq=dlq), progress=False, wait_s=0)

    assert (summary.replayed, summary.skipped, summary.failed) == (23, 0, 0)
    assert summary.verb == "redriven"  # moto has no StartMessageMoveTask: moved by hand
    assert depth(stack.sqs, dlq.url).visible == 0
    moved = peek(stack.sqs, queue_url, 100)
    assert sorted(m.body for m in moved) == sorted(bodies)
    assert {m.message_attributes["event_type"]["StringValue"] for m in moved} == {"OrderPlaced"}


def test_filtered_redrive_leaves_the_rest_visible_in_the_dlq(stack):
    stack.queue("DLQ")
    queue_url = stack.queue("Queue", dlq="DLQ")
    bodies = [json.dumps({"event_type": t, "n": i}) for i, t in enumerate(["OrderPlaced", "OrderConfirmed"] * 6)]
    _dead_letter(stack, "Queue", bodies)
    dlq = find_dead_letter_queue(stack.target(), "DLQ")

    summary = redrive(
        stack.target(), RedrivePlan(dlq=dlq, filter=BodyFilter("event_type == 'OrderConfirmed'")), progress=False, wait_s=0
    )

    assert (summary.replayed, summary.skipped, summary.failed) == (6, 6, 0)
    assert all('"OrderConfirmed"' in b for b in _bodies(stack.sqs, queue_url)) and len(_bodies(stack.sqs, queue_url)) == 6
    assert depth(stack.sqs, dlq.url).visible == 6  # the others are visible again at once
    assert all('"OrderPlaced"' in b for b in _bodies(stack.sqs, dlq.url))


def test_max_and_dry_run_and_substring_filter(stack):
    stack.queue("DLQ")
    queue_url = stack.queue("Queue", dlq="DLQ")
    _dead_letter(stack, "Queue", [f"order-{i} tok_declined" if i % 2 else f"order-{i}" for i in range(10)])
    dlq = find_dead_letter_queue(stack.target(), "DLQ")

    dry = redrive(stack.target(), RedrivePlan(dlq=dlq, filter=BodyFilter("tok_declined"), dry_run=True), progress=False, wait_s=0)
    assert (dry.replayed, dry.skipped) == (5, 5)
    assert depth(stack.sqs, dlq.url).visible == 10 and depth(stack.sqs, queue_url).visible == 0

    capped = redrive(stack.target(), RedrivePlan(dlq=dlq, filter=BodyFilter("tok_declined"), max_messages=2), progress=False, wait_s=0)
    assert capped.replayed == 2
    assert depth(stack.sqs, dlq.url).visible == 8
    assert all("tok_declined" in b for b in _bodies(stack.sqs, queue_url)) and depth(stack.sqs, queue_url).visible == 2


def test_fifo_redrive_keeps_group_and_is_not_swallowed_by_deduplication(stack):
    stack.queue("DLQ", fifo=True)
    queue_url = stack.queue("Queue", dlq="DLQ", fifo=True)
    for i in range(3):
        stack.sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}", MessageGroupId="order-1", MessageDeduplicationId=f"d{i}")
    dlq = find_dead_letter_queue(stack.target(), "DLQ")
    for _ in range(30):  # FIFO hands out one group at a time: receive until all three are dead-lettered
        if depth(stack.sqs, dlq.url).visible == 3:
            break
        stack.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert depth(stack.sqs, dlq.url).visible == 3
    dlq_order = [m.body for m in peek(stack.sqs, dlq.url, 10)]  # moto dead-letters a group in its own order

    summary = redrive(stack.target(), RedrivePlan(dlq=dlq), progress=False, wait_s=0)

    assert summary.replayed == 3
    received = stack.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])["Messages"]
    assert sorted(dlq_order) == ["m0", "m1", "m2"]
    assert [m["Body"] for m in received] == dlq_order
    assert {m["Attributes"]["MessageGroupId"] for m in received} == {"order-1"}


def test_body_filter_kinds():
    assert BodyFilter("OrderPlaced").kind == "substring"
    assert BodyFilter("order-42").kind == "substring"
    assert BodyFilter("payload.total_cents > `100`").kind == "jmespath"
    assert BodyFilter("payload.total_cents > `100`").matches('{"payload": {"total_cents": 150}}')
    assert not BodyFilter("payload.total_cents > `100`").matches('{"payload": {"total_cents": 50}}')
    assert not BodyFilter("payload.total_cents > `100`").matches("not json")
    assert BodyFilter("order-42").matches('{"order_id": "order-42"}')
