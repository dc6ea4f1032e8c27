"""Archive replay re-publishes the original envelopes with their attributes; --subscriber matches SNS."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from orders.events import EventType
from ordertools.archive import ArchiveQuery
from ordertools.progress import RateLimiter
from ordertools.replay import Publication, Replayer, ReplayOptions, Skip, items_from_archive
from ordertools.sqs_messages import peek
from ordertools.targets import TargetError

from support.waits import wait_until

from .test_archive import archive, envelope

T0 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
CONFIRMED_ONLY = {"event_type": ["OrderConfirmed", "OrderCancelled"]}


@pytest.fixture
def wired(stack):
    """A topic with a raw unfiltered queue, a raw filtered queue and a wrapped queue, plus an archive of 24 events."""
    sns, sqs = stack.endpoints.client("sns"), stack.sqs
    topic = stack.topic("OrderEventsTopic")
    for logical_id, raw, policy in (("AllQueue", True, None), ("ConfirmedQueue", True, CONFIRMED_ONLY), ("WrappedQueue", False, None)):
        stack.queue(logical_id)
        attributes = {"RawMessageDelivery": "true" if raw else "false"}
        if policy:
            attributes["FilterPolicy"] = json.dumps(policy)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=stack.arn(logical_id), Attributes=attributes)
    bucket = stack.bucket("ArchiveBucket")
    envelopes = []
    for n in range(12):
        at = T0 + timedelta(minutes=7 * n)
        envelopes.append(envelope(f"o{n}", EventType.ORDER_PLACED, 1, at))
        envelopes.append(envelope(f"o{n}", EventType.ORDER_CONFIRMED if n % 3 else EventType.ORDER_REJECTED, 2, at + timedelta(seconds=5)))
    stored = archive(stack.endpoints.client("s3"), bucket, envelopes)
    return stack, stored


def drain(stack, logical_id: str):
    return peek(stack.sqs, stack.resources[logical_id].physical_id, 100)


def arrived(stack, logical_id: str, count: int):
    """The queue's messages once `count` are there: SNS delivers to SQS asynchronously (on AWS and LocalStack;
    embedded moto delivers within the Publish call), so a test waits for them before reading."""
    url = stack.resources[logical_id].physical_id

    def depth() -> int:
        attributes = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    wait_until(lambda: depth() >= count, timeout_s=30, message=f"{count} messages in {logical_id}")
    return drain(stack, logical_id)


def test_replay_publishes_original_bodies_and_attributes(wired):
    stack, stored = wired
    target = stack.target()
    items = items_from_archive(target, ArchiveQuery())

    summary = Replayer(target, ReplayOptions(progress=False)).run(items)

    assert (summary.replayed, summary.skipped, summary.failed) == (24, 0, 0)
    received = arrived(stack, "AllQueue", 24)
    assert sorted(m.body for m in received) == sorted(stored.values())  # byte for byte: same event_ids
    for m in received:
        doc = json.loads(m.body)
        assert m.message_attributes["event_type"]["StringValue"] == doc["event_type"]
        assert m.message_attributes["schema_version"]["StringValue"] == "1"
    confirmed = arrived(stack, "ConfirmedQueue", 8)
    assert len(confirmed) == 8 and all(json.loads(m.body)["event_type"] == "OrderConfirmed" for m in confirmed)


def test_subscriber_delivery_is_what_the_topic_would_deliver(wired):
    stack, _ = wired
    target = stack.target()
    items = items_from_archive(target, ArchiveQuery(event_types=("OrderConfirmed", "OrderRejected")))
    Replayer(target, ReplayOptions(progress=False)).run(items)
    via_topic = {"ConfirmedQueue": arrived(stack, "ConfirmedQueue", 8), "WrappedQueue": arrived(stack, "WrappedQueue", 12)}
    arrived(stack, "AllQueue", 12)  # every delivery of the first run is in before the purge
    for name in ("AllQueue", *via_topic):
        stack.sqs.purge_queue(QueueUrl=stack.resources[name].physical_id)

    summary = Replayer(target, ReplayOptions(progress=False, subscribers=("ConfirmedQueue", "WrappedQueue"))).run(items)

    assert summary.replayed == 12
    assert drain(stack, "AllQueue") == []  # only the named subscribers got anything
    direct = drain(stack, "ConfirmedQueue")
    assert sorted(m.body for m in direct) == sorted(m.body for m in via_topic["ConfirmedQueue"])
    assert [m.message_attributes for m in direct][:1] == [m.message_attributes for m in via_topic["ConfirmedQueue"]][:1]
    wrapped = [json.loads(m.body) for m in drain(stack, "WrappedQueue")]
    topic_wrapped = [json.loads(m.body) for m in via_topic["WrappedQueue"]]
    assert sorted(w["Message"] for w in wrapped) == sorted(w["Message"] for w in topic_wrapped)
    assert {w["Type"] for w in wrapped} == {"Notification"}
    assert wrapped[0]["MessageAttributes"] == next(t for t in topic_wrapped if t["Message"] == wrapped[0]["Message"])["MessageAttributes"]


def test_dry_run_and_filters_deliver_nothing(wired, capsys):
    stack, _ = wired
    target = stack.target()
    items = items_from_archive(target, ArchiveQuery(order_ids=frozenset({"o3", "o4"}), since=T0 + timedelta(minutes=25)))

    summary = Replayer(target, ReplayOptions(progress=False, dry_run=True)).run(items)

    assert [(p.event.order_id, p.event.event_type) for p in items if isinstance(p, Publication)] == [
        ("o4", "OrderPlaced"), ("o4", "OrderConfirmed")
    ]
    assert summary.replayed == 2 and summary.verb == "would replay"
    assert drain(stack, "AllQueue") == []
    assert "would publish: OrderPlaced" in capsys.readouterr().out


def test_stop_on_error_stops_and_counts_the_rest_as_skipped(wired):
    stack, _ = wired
    target = stack.target()
    items = [Skip("a.json", "no function")] + items_from_archive(target, ArchiveQuery(event_types=("OrderPlaced",)))
    stack.endpoints.client("sns").delete_topic(TopicArn=stack.resources["OrderEventsTopic"].physical_id)

    summary = Replayer(target, ReplayOptions(progress=False, stop_on_error=True, concurrency=1)).run(items)

    assert summary.failed == 10 and summary.replayed == 0  # the first batch of 10 fails, nothing after it is tried
    assert summary.skipped == 1 + 2
    assert "publish failed" in summary.failures[0]


def test_rate_limiter_spreads_acquisitions():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(20, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.acquire(10)
    assert now[0] == pytest.approx(2.0)  # 50 at 20/s: the first batch goes at once, the next four wait 0.5 s each
    assert len(slept) == 4


def test_backpressure_holds_publishing_while_a_receiving_queue_is_full(wired):
    stack, _ = wired
    target = stack.target()
    items = items_from_archive(target, ArchiveQuery())
    full = ReplayOptions(progress=False, concurrency=1, max_backlog=5, backlog_timeout_s=0.5)

    with pytest.raises(TargetError, match="still holds"):  # nobody consumes: it stops instead of flooding
        Replayer(target, full).run(items)
    assert len(arrived(stack, "AllQueue", 10)) == 10  # one batch went out, then the backlog (10 > 5) held the rest
    arrived(stack, "WrappedQueue", 10)  # that batch's deliveries are all in before the purge

    sqs, url = stack.sqs, stack.resources["AllQueue"].physical_id
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                consumed.append(m["Body"])

    consumed: list[str] = []
    for name in ("AllQueue", "ConfirmedQueue", "WrappedQueue"):
        sqs.purge_queue(QueueUrl=stack.resources[name].physical_id)
    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        summary = Replayer(target, ReplayOptions(progress=False, concurrency=1, max_backlog=5, subscribers=("AllQueue",))).run(items)
        # The consumer runs until every event is in: on LocalStack SNS delivers asynchronously, after `run` returns, and a
        # copy of the first run's batch may land after the purge (events are counted once: a copy has the same body).
        wait_until(lambda: len(set(consumed)) >= 24, message="all consumed")
    finally:
        stop.set()
        consumer.join(timeout=10)
    assert summary.replayed == 24
    assert len(set(consumed)) == 24
