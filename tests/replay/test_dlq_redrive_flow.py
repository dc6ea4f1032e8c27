"""Messages forced into a DLQ by a consumer that fails until a switch is flipped are redriven after
the fix and processed exactly once; recorded events replay through their function (deployer + runtime
on embedded moto, the tools as the CLI uses them)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from localcloud.deploy import deploy
from localcloud.runtime import Runtime
from ordertools import eventfiles
from ordertools.dlq import RedrivePlan, depth, find_dead_letter_queue, redrive
from ordertools.dlq_replay import DlqSource
from ordertools.record import CONTROL_FILE, RecordingObserver, Session
from ordertools.replay import Invocation, Replayer, ReplayOptions, items_from_dir
from ordertools.sqs_messages import BodyFilter
from ordertools.targets import from_deployed_stack

from support.waits import wait_until


TEMPLATE = Path(__file__).parent / "templates" / "switch_consumer.yaml"


@pytest.fixture
def running(endpoints, tmp_path):
    stack = deploy(TEMPLATE, endpoints, stack_name=f"redrive-{tmp_path.name[-12:]}".replace("_", "-"))
    runtime = Runtime(stack, endpoints, log_dir=tmp_path / "logs")
    runtime.start()
    try:
        yield stack, runtime, from_deployed_stack(stack, endpoints, lambda_url=runtime.serve_http())
    finally:
        runtime.stop()


def deliveries(endpoints, table: str) -> dict[str, int]:
    items = endpoints.client("dynamodb").scan(TableName=table)["Items"]
    return {item["id"]["S"]: int(item["deliveries"]["N"]) for item in items}


def settled(sqs, *urls) -> bool:
    return all(depth(sqs, url).visible == 0 and depth(sqs, url).in_flight == 0 for url in urls)


def test_failing_consumer_then_fix_then_filtered_and_full_redrive_process_each_message_once(running, endpoints):
    stack, runtime, target = running
    sqs, ssm = endpoints.client("sqs"), endpoints.client("ssm")
    queue, table = stack.physical_id("WorkQueue"), stack.physical_id("ProcessedTable")
    dlq = find_dead_letter_queue(target, "WorkDLQ")
    ids = [f"order-{i}" for i in range(8)]
    for i, order_id in enumerate(ids):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"id": order_id, "priority": "high" if i < 3 else "low"}))

    wait_until(lambda: depth(sqs, dlq.url).visible == 8, timeout_s=60, message="all 8 messages dead-lettered")
    assert deliveries(endpoints, table) == {}

    ssm.put_parameter(Name=stack.physical_id("SwitchParameter"), Value="on", Overwrite=True)  # the fix

    first = redrive(target, RedrivePlan(dlq=dlq, filter=BodyFilter("priority == 'high'")), progress=False, wait_s=0)
    assert (first.replayed, first.skipped, first.failed) == (3, 5, 0)
    wait_until(lambda: len(deliveries(endpoints, table)) == 3, message="high-priority messages processed")
    assert depth(sqs, dlq.url).visible == 5

    rest = redrive(target, RedrivePlan(dlq=dlq), progress=False, wait_s=0)
    assert (rest.replayed, rest.failed) == (5, 0)
    wait_until(lambda: len(deliveries(endpoints, table)) == 8 and settled(sqs, queue, dlq.url), message="all processed")
    assert runtime.stats()["WorkFunction"]["in_flight"] == 0

    assert deliveries(endpoints, table) == {order_id: 1 for order_id in ids}


def test_replay_from_dlq_invokes_the_consumer_and_deletes_only_what_succeeded(running, endpoints):
    stack, runtime, target = running
    sqs, ssm = endpoints.client("sqs"), endpoints.client("ssm")
    queue, table = stack.physical_id("WorkQueue"), stack.physical_id("ProcessedTable")
    dlq_url = stack.physical_id("WorkDLQ")
    ids = [f"order-{i}" for i in range(4)]
    for order_id in ids:
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"id": order_id}))
    wait_until(lambda: depth(sqs, dlq_url).visible == 4, timeout_s=60, message="all 4 messages dead-lettered")

    still_broken = DlqSource(target, "WorkDLQ")
    try:
        before_fix = Replayer(target, ReplayOptions(progress=False)).run(still_broken.items())
    finally:
        still_broken.close()
    assert (before_fix.replayed, before_fix.failed) == (0, 4)
    assert "1 of 1 records failed" in before_fix.failures[0]
    assert depth(sqs, dlq_url).visible == 4  # nothing deleted, all visible again

    ssm.put_parameter(Name=stack.physical_id("SwitchParameter"), Value="on", Overwrite=True)
    fixed = DlqSource(target, "WorkDLQ")
    try:
        after_fix = Replayer(target, ReplayOptions(progress=False)).run(fixed.items())
    finally:
        fixed.close()

    assert (after_fix.replayed, after_fix.failed) == (4, 0)
    assert depth(sqs, dlq_url).visible == 0 and depth(sqs, dlq_url).in_flight == 0
    assert deliveries(endpoints, table) == {order_id: 1 for order_id in ids}
    assert settled(sqs, queue)


def test_recorded_events_replay_through_the_function(endpoints, tmp_path):
    state_file = tmp_path / ".orderflow" / "state.json"
    state_file.parent.mkdir()
    stack = deploy(TEMPLATE, endpoints, stack_name=f"record-{tmp_path.name[-12:]}".replace("_", "-"))
    endpoints.client("ssm").put_parameter(Name=stack.physical_id("SwitchParameter"), Value="on", Overwrite=True)
    sqs, table, out = endpoints.client("sqs"), stack.physical_id("ProcessedTable"), tmp_path / "recorded"
    with Runtime(stack, endpoints, log_dir=tmp_path / "logs", observers=[RecordingObserver.beside(state_file)]) as runtime:
        target = from_deployed_stack(stack, endpoints, lambda_url=runtime.serve_http())
        sqs.send_message(QueueUrl=stack.physical_id("WorkQueue"), MessageBody=json.dumps({"id": "before"}))
        wait_until(lambda: deliveries(endpoints, table).get("before") == 1, message="unrecorded message processed")
        Session(out, frozenset({"WorkFunction"}), None, os.getpid(), time.time()).write(state_file.parent / CONTROL_FILE)
        for i in range(3):
            sqs.send_message(QueueUrl=stack.physical_id("WorkQueue"), MessageBody=json.dumps({"id": f"rec-{i}"}))
        wait_until(lambda: len(eventfiles.discover(out)) >= 1 and len(deliveries(endpoints, table)) == 4, message="recorded")
        (state_file.parent / CONTROL_FILE).unlink()
        wait_until(lambda: settled(sqs, stack.physical_id("WorkQueue")), message="queue drained")
        before_replay = deliveries(endpoints, table)
        recorded = eventfiles.discover(out)
        bodies = sorted(json.loads(r["body"])["id"] for f in recorded for r in eventfiles.load(f).event["Records"])
        assert bodies == ["rec-0", "rec-1", "rec-2"]
        assert all(eventfiles.load(f).event["Records"][0]["eventSource"] == "aws:sqs" for f in recorded)

        summary = Replayer(target, ReplayOptions(progress=False)).run(items_from_dir(out, target))

    assert (summary.replayed, summary.failed) == (len(recorded), 0)
    # the test handler counts every processing (it is deliberately not idempotent): each recorded record ran again once
    assert deliveries(endpoints, table) == {**before_replay, **{f"rec-{i}": before_replay[f"rec-{i}"] + 1 for i in range(3)}}


def test_lambda_failure_records_are_re_run_from_the_stream_and_the_async_payload(running, endpoints):
    stack, runtime, target = running
    sqs, ssm, dynamodb = endpoints.client("sqs"), endpoints.client("ssm"), endpoints.client("dynamodb")
    table = stack.physical_id("ProcessedTable")
    for i in range(3):
        dynamodb.put_item(TableName=stack.physical_id("SourceTable"), Item={"id": {"S": f"s{i}"}})
    for i in range(2):
        runtime.invoke("AsyncFunction", {"id": f"a{i}"}, invocation_type="Event")
    stream_dlq, async_dlq = (find_dead_letter_queue(target, name) for name in ("StreamDLQ", "AsyncDLQ"))
    assert stream_dlq.failure_sources == ("StreamFunction stream OnFailure",)
    assert async_dlq.failure_sources == ("AsyncFunction async OnFailure",)
    wait_until(lambda: depth(sqs, async_dlq.url).visible == 2 and depth(sqs, stream_dlq.url).visible >= 1,
               timeout_s=60, message="failure records in both DLQs")
    assert deliveries(endpoints, table) == {}

    ssm.put_parameter(Name=stack.physical_id("SwitchParameter"), Value="on", Overwrite=True)
    results = {}
    for name in ("StreamDLQ", "AsyncDLQ"):
        source = DlqSource(target, name)
        try:
            items = source.items()
            assert all(isinstance(item, Invocation) for item in items), items
            results[name] = Replayer(target, ReplayOptions(progress=False)).run(items)
        finally:
            source.close()

    assert results["AsyncDLQ"].replayed == 2 and results["StreamDLQ"].failed == 0
    assert depth(sqs, stream_dlq.url).visible == 0 and depth(sqs, async_dlq.url).visible == 0
    assert deliveries(endpoints, table) == {"stream-s0": 1, "stream-s1": 1, "stream-s2": 1, "async-a0": 1, "async-a1": 1}
