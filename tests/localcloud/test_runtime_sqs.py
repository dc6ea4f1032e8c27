"""SQS event source mappings through the runtime against embedded moto."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from runtime_handlers.stack_kit import function, make_queue, queue_depth, drain, stack
from support.waits import wait_until

from localcloud.emulator import Endpoints
from localcloud.model import SqsEventSource
from localcloud.runtime.event_sources.rules import sqs_source as aws_sqs_source
from localcloud.runtime import Runtime


def traces(trace_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in trace_dir.glob("*.json")]


def at_least(trace_dir: Path, count: int) -> list[dict[str, Any]] | None:
    found = traces(trace_dir)
    return found if len(found) >= count else None


def max_overlap(entries: list[dict[str, Any]]) -> int:
    """The most invocations that were running at the same instant (ends sort before starts)."""
    edges = sorted([(e["start"], 1) for e in entries] + [(e["end"], -1) for e in entries], key=lambda x: (x[0], x[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def sqs_source(url: str, arn: str, **overrides: Any) -> SqsEventSource:
    return replace(aws_sqs_source("Queue", arn, url), **overrides)


def test_one_failing_record_is_retried_then_lands_in_the_dlq_intact(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, dlq_url = make_queue(endpoints, visibility_s=3, max_receives=2)  # > timeout, as AWS requires
    source = sqs_source(url, arn, batch_size=10, report_batch_item_failures=True)
    spec = function(
        "Consumer", "sqs_consumer.report_failures", timeout_s=1, sqs_sources=(source,), environment={"TRACE_DIR": str(tmp_path)}
    )
    sqs = endpoints.client("sqs")
    for i in range(4):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": i}))
    sqs.send_message(
        QueueUrl=url,
        MessageBody="poison pill",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
    )

    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs"):
        dead = drain(endpoints, dlq_url, expected=1, timeout_s=15)
        wait_until(lambda: queue_depth(endpoints, url) == (0, 0))

    assert [m["Body"] for m in dead] == ["poison pill"]
    assert dead[0]["MessageAttributes"] == {"origin": {"DataType": "String", "StringValue": "test"}}
    delivered = [r for entry in traces(tmp_path) for r in entry["records"]]
    bodies = [r["body"] for r in delivered]
    assert sorted(b for b in bodies if b != "poison pill") == [json.dumps({"n": i}) for i in range(4)]  # each exactly once
    assert bodies.count("poison pill") == 2  # maxReceiveCount receives, then the redrive policy moved it


def test_events_have_aws_sqs_record_shape(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints, visibility_s=10)
    spec = function("Consumer", "sqs_consumer.report_failures", sqs_sources=(sqs_source(url, arn),), environment={"TRACE_DIR": str(tmp_path)})
    endpoints.client("sqs").send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    )
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs"):
        entry = wait_until(lambda: traces(tmp_path))[0]
    record = entry["event"]["Records"][0]
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion",
    }
    assert record["body"] == "hello" and record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn and record["awsRegion"] == "us-east-1"
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "order", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AQI=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }


def test_fifo_records_carry_group_and_sequence(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints, visibility_s=10, fifo=True)
    spec = function("Consumer", "sqs_consumer.report_failures", sqs_sources=(sqs_source(url, arn, batch_size=1),), environment={"TRACE_DIR": str(tmp_path)})
    sqs = endpoints.client("sqs")
    for i in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i % 2}", MessageDeduplicationId=f"d{i}")
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs"):
        entries = wait_until(lambda: at_least(tmp_path, 6))
    records = [e["event"]["Records"][0] for e in sorted(entries, key=lambda e: e["start"])]
    for group in ("g0", "g1"):
        in_group = [r for r in records if r["attributes"]["MessageGroupId"] == group]
        assert [r["body"] for r in in_group] == sorted(r["body"] for r in in_group)  # per-group order kept
        assert all("SequenceNumber" in r["attributes"] and "MessageDeduplicationId" in r["attributes"] for r in in_group)


def test_an_invocation_that_overruns_its_timeout_is_cut_off_and_its_message_retried(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints, visibility_s=2)
    spec = function(
        "Consumer", "sqs_consumer.slow_first_receive", timeout_s=1,
        sqs_sources=(sqs_source(url, arn, batch_size=1),), environment={"TRACE_DIR": str(tmp_path)},
    )
    endpoints.client("sqs").send_message(QueueUrl=url, MessageBody="slow")
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs") as rt:
        entry = wait_until(lambda: traces(tmp_path), timeout_s=15)[0]
        wait_until(lambda: queue_depth(endpoints, url) == (0, 0))
        stats = rt.stats()["Consumer"]
    assert entry["records"][0]["body"] == "slow"
    assert entry["event"]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert stats["timeouts"] == 1 and stats["invocations"] == 2
    assert stats["cold_starts"] == 2  # the timed-out environment was reset


def test_maximum_concurrency_caps_concurrent_batches(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints, visibility_s=30)
    source = sqs_source(url, arn, batch_size=1, maximum_concurrency=2)
    spec = function("Consumer", "sqs_consumer.slow", sqs_sources=(source,), environment={"TRACE_DIR": str(tmp_path)})
    sqs = endpoints.client("sqs")
    for start in range(0, 50, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"sleep_s": 0.05, "i": i})} for i in range(start, start + 10)]
        )
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs") as rt:
        entries = wait_until(lambda: at_least(tmp_path, 50), timeout_s=30)
        wait_until(lambda: queue_depth(endpoints, url) == (0, 0))
        stats = rt.stats()["Consumer"]
    processed = {json.loads(r["body"])["i"] for e in entries for r in e["records"]}
    assert processed == set(range(50))
    assert max_overlap(entries) == 2  # measured from the handler's own timestamps: capped, and used
    assert stats["peak_in_flight"] == 2 and stats["environments"] <= 2


def test_reserved_concurrency_caps_a_function_across_its_pollers(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints, visibility_s=30)
    spec = function(
        "Consumer", "sqs_consumer.slow", reserved_concurrency=1,
        sqs_sources=(sqs_source(url, arn, batch_size=1),), environment={"TRACE_DIR": str(tmp_path)},
    )
    sqs = endpoints.client("sqs")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"sleep_s": 0.05, "i": i})} for i in range(10)])
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs") as rt:
        entries = wait_until(lambda: at_least(tmp_path, 10), timeout_s=20)
        stats = rt.stats()["Consumer"]
    assert {json.loads(r["body"])["i"] for e in entries for r in e["records"]} == set(range(10))
    assert max_overlap(entries) == 1
    assert stats["peak_in_flight"] == 1 and stats["environments"] == 1


def test_reserved_concurrency_zero_consumes_nothing(endpoints: Endpoints, tmp_path: Path) -> None:
    """AWS: "If you set reserved concurrency to 0, the function is throttled and can't process any events"
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). Not one invocation, ever:
    a control function on its own queue, polled by the same runtime, shows the pollers had their chance."""
    zero_traces, control_traces = tmp_path / "zero", tmp_path / "control"
    zero_traces.mkdir()
    control_traces.mkdir()
    url, arn, _ = make_queue(endpoints)
    control_url, control_arn, _ = make_queue(endpoints)
    zero = function(
        "Zero", "sqs_consumer.slow", reserved_concurrency=0, sqs_sources=(sqs_source(url, arn),), environment={"TRACE_DIR": str(zero_traces)}
    )
    control = function(
        "Control", "sqs_consumer.slow", sqs_sources=(sqs_source(control_url, control_arn),), environment={"TRACE_DIR": str(control_traces)}
    )
    sqs = endpoints.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    with Runtime(stack(zero, control), endpoints, log_dir=tmp_path / "logs") as rt:
        throttled = rt.invoke("Zero", {"Records": []})
        sqs.send_message(QueueUrl=control_url, MessageBody="{}")
        wait_until(lambda: at_least(control_traces, 1), timeout_s=60, message="the control function to consume its message")
        wait_until(lambda: queue_depth(endpoints, control_url) == (0, 0), timeout_s=30, message="the control's message deleted")
        depth = queue_depth(endpoints, url)
        stats = rt.stats()["Zero"]
    assert throttled.throttled and throttled.error["errorType"] == "TooManyRequestsException"
    assert depth == (1, 0)  # never received, so never in flight
    assert stats["invocations"] == 0 and stats["throttles"] == 1  # only the direct invoke was refused
    assert traces(zero_traces) == []  # the handler never ran


def test_filter_criteria_deletes_records_that_match_no_pattern(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints, visibility_s=10)  # longer than the batching window plus the invoke
    pattern = {"body": {"kind": ["order"], "total": [{"numeric": [">", 10]}]}}
    source = sqs_source(url, arn, batch_size=10, maximum_batching_window_s=1, filter_patterns=(pattern,))
    spec = function("Consumer", "sqs_consumer.report_failures", sqs_sources=(source,), environment={"TRACE_DIR": str(tmp_path)})
    sqs = endpoints.client("sqs")
    for body in ({"kind": "order", "total": 20}, {"kind": "order", "total": 5}, {"kind": "refund", "total": 50}, "not json"):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body) if isinstance(body, dict) else body)
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs"):
        wait_until(lambda: queue_depth(endpoints, url) == (0, 0))
        entries = wait_until(lambda: traces(tmp_path))
    assert [r["body"] for e in entries for r in e["records"]] == [json.dumps({"kind": "order", "total": 20})]


def test_an_idle_mapping_keeps_one_poller_and_stop_ends_its_20s_long_poll(endpoints: Endpoints, tmp_path: Path) -> None:
    import time

    url, arn, _ = make_queue(endpoints)
    spec = function("Consumer", "sqs_consumer.report_failures", sqs_sources=(sqs_source(url, arn),), environment={"TRACE_DIR": str(tmp_path)})
    rt = Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs")
    rt.start()
    (mapping,) = rt._sqs  # noqa: SLF001 - the poller count is what this test is about
    time.sleep(1.0)  # inside the first ReceiveMessage(WaitTimeSeconds=20) by now
    assert mapping.workers == 1
    started = time.monotonic()
    rt.stop()
    took = time.monotonic() - started
    assert mapping.workers == 0
    assert took < 5, f"stop() waited {took:.1f} s: the long poll was not ended"


def test_pollers_scale_up_with_a_backlog_and_back_down_when_it_is_gone(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints)
    source = sqs_source(url, arn, batch_size=2, maximum_concurrency=3)
    spec = function("Consumer", "sqs_consumer.report_failures", sqs_sources=(source,), environment={"TRACE_DIR": str(tmp_path)})
    sqs = endpoints.client("sqs")
    for start in range(0, 40, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"n": start + i})} for i in range(10)])
    rt = Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs")
    with rt:
        (mapping,) = rt._sqs  # noqa: SLF001
        peak = wait_until(lambda: mapping.workers if mapping.workers >= 2 else 0, timeout_s=20)
        wait_until(lambda: queue_depth(endpoints, url) == (0, 0), timeout_s=30)
        assert peak <= 3
        wait_until(lambda: mapping.workers == 1, timeout_s=60)  # each extra poller ends on an empty 20 s receive
