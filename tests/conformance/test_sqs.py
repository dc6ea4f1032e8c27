"""SQS event source mappings, standard and FIFO, as AWS runs them.

Sources: https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html (the event's shape and key
order), https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html (partial
batch responses, redelivery after the visibility timeout, FIFO), and the recording against AWS
of issue 11 (md5OfMessageAttributes null; FIFO redelivery of [2, 3, 4] together).
"""

from __future__ import annotations

import json

import pytest

from .conftest import Traces, module_cloud, receive_all, wait_for

cloud = module_cloud("sqs.yaml")

# The standard-queue event of Lambda's documentation, key by key, in order.
RECORD_KEYS = [
    "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfMessageAttributes",
    "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
]


def _records(traces: Traces, cloud, function: str) -> list[dict]:
    return [r for event in traces.events(cloud.stack.function(function).function_name) for r in event["Records"]]


def test_a_reported_failure_is_redelivered_with_the_same_id_then_dead_lettered(cloud, traces: Traces) -> None:
    sqs = cloud.client("sqs")
    url = cloud.stack.physical_id("StandardQueue")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 2, "fail": True}))
    dead = receive_all(cloud, "StandardDLQ", expected=1, timeout_s=30)
    assert json.loads(dead[0]["Body"]) == {"n": 2, "fail": True}
    records = _records(traces, cloud, "StandardConsumer")
    failing = [r for r in records if json.loads(r["body"]).get("fail")]
    # maxReceiveCount 2: invoked twice, same messageId, the receive count growing
    assert len(failing) == 2 and failing[0]["messageId"] == failing[1]["messageId"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in failing] == ["1", "2"]
    assert len([r for r in records if not json.loads(r["body"]).get("fail")]) == 1  # the other one, once


def test_the_record_has_awss_keys_in_awss_order(cloud, traces: Traces) -> None:
    records = wait_for(lambda: _records(traces, cloud, "StandardConsumer"), what="a standard record")
    record = records[0]
    assert list(record) == RECORD_KEYS
    assert list(record["attributes"])[:2] == ["ApproximateReceiveCount", "SentTimestamp"]
    assert record["eventSource"] == "aws:sqs" and record["md5OfMessageAttributes"] is None


def test_a_batching_window_batches_and_md5_of_attributes_is_null(cloud, traces: Traces) -> None:
    sqs = cloud.client("sqs")
    url = cloud.stack.physical_id("WindowQueue")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"n": i})} for i in range(5)])
    records = wait_for(lambda: len(_records(traces, cloud, "WindowConsumer")) >= 5 and _records(traces, cloud, "WindowConsumer"))
    assert sorted(json.loads(r["body"])["n"] for r in records) == [0, 1, 2, 3, 4]
    for record in records:  # recorded on AWS with a 1 s window and no attributes: the key, null
        assert "md5OfMessageAttributes" in record and record["md5OfMessageAttributes"] is None
        assert list(record) == RECORD_KEYS


@pytest.mark.xfail(
    strict=False,
    reason="docs/local-cloud.md, 'SQS FIFO redelivery': moto 5.2.5's FIFO receive can hand the group's last failed "
    "message out alone before the others; the poller hands it back, but about one run in two still sees [2, 3] then [4]",
)
def test_fifo_redelivers_the_failed_tail_of_a_group_together_and_in_order(cloud, traces: Traces) -> None:
    sqs = cloud.client("sqs")
    url = cloud.stack.physical_id("OrderedQueue")
    sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": str(n), "MessageBody": json.dumps({"n": n}), "MessageGroupId": "g", "MessageDeduplicationId": f"d{n}"}
        for n in range(1, 5)
    ])

    def batches() -> list[list[int]]:
        events = traces.events(cloud.stack.function("OrderedConsumer").function_name)
        return [[json.loads(r["body"])["n"] for r in event["Records"]] for event in events]

    seen = wait_for(lambda: sum(len(b) for b in batches()) >= 7 and batches(), timeout_s=30, what="the redelivery")
    delivered = [n for batch in seen for n in batch]
    assert delivered[:4] == [1, 2, 3, 4]
    assert seen[-1] == [2, 3, 4]  # AWS: the failed messages come back together, in group order
    records = _records(traces, cloud, "OrderedConsumer")
    assert all(r["attributes"]["MessageGroupId"] == "g" and "SequenceNumber" in r["attributes"] for r in records)
