"""Asynchronous invocation: retries, destinations, event age, schedules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime_handlers.stack_kit import drain, function, make_queue, stack
from support.waits import wait_until

from localcloud.emulator import Endpoints
from localcloud.model import AsyncInvokeConfig, ScheduleSource
from localcloud.runtime import Runtime
from localcloud.runtime.event_sources.schedule import rate_seconds


def traces(trace_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(trace_dir.glob("*.json"))]


def test_async_invoke_retries_then_goes_to_the_on_failure_destination(endpoints: Endpoints, tmp_path: Path) -> None:
    failures_url, failures_arn, _ = make_queue(endpoints)
    config = AsyncInvokeConfig(maximum_retry_attempts=2, on_failure_arn=failures_arn)
    spec = function("Worker", "async_handlers.always_fail", async_config=config, environment={"TRACE_DIR": str(tmp_path)})
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs", async_retry_delays_s=(0.2, 0.4)) as rt:
        queued = rt.invoke("Worker", {"order_id": "o-9"}, invocation_type="Event")
        assert queued.payload is None and queued.error is None
        sent = drain(endpoints, failures_url, expected=1, timeout_s=15)
    attempts = traces(tmp_path)
    assert len(attempts) == 3  # the first try and two retries
    assert {a["request_id"] for a in attempts} == {queued.request_id}  # retries keep the request id
    assert attempts[1]["at"] - attempts[0]["at"] >= 0.2 and attempts[2]["at"] - attempts[1]["at"] >= 0.4
    record = json.loads(sent[0]["Body"])
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": queued.request_id, "functionArn": f"{spec.arn}:$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"order_id": "o-9"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert record["responsePayload"]["errorMessage"] == "cannot handle o-9"


def test_async_success_goes_to_the_on_success_destination(endpoints: Endpoints, tmp_path: Path) -> None:
    ok_url, ok_arn, _ = make_queue(endpoints)
    spec = function("Worker", "async_handlers.succeed", async_config=AsyncInvokeConfig(on_success_arn=ok_arn))
    with Runtime(stack(spec), endpoints, log_dir=tmp_path) as rt:
        queued = rt.invoke("Worker", {"order_id": "o-1"}, invocation_type="Event")
        record = json.loads(drain(endpoints, ok_url, expected=1)[0]["Body"])
    assert record["requestContext"]["condition"] == "Success" and record["requestContext"]["requestId"] == queued.request_id
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"handled": "o-1"}


def test_an_event_older_than_its_maximum_age_is_dropped_to_on_failure(endpoints: Endpoints, tmp_path: Path) -> None:
    failures_url, failures_arn, _ = make_queue(endpoints)
    config = AsyncInvokeConfig(maximum_retry_attempts=2, maximum_event_age_s=1, on_failure_arn=failures_arn)
    spec = function("Worker", "async_handlers.always_fail", async_config=config, environment={"TRACE_DIR": str(tmp_path)})
    with Runtime(stack(spec), endpoints, log_dir=tmp_path / "logs", async_retry_delays_s=(2.0,)) as rt:
        rt.invoke("Worker", {"order_id": "o-2"}, invocation_type="Event")
        record = json.loads(drain(endpoints, failures_url, expected=1)[0]["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 1 and len(traces(tmp_path)) == 1


def test_a_lambda_destination_receives_the_record_asynchronously(endpoints: Endpoints, tmp_path: Path) -> None:
    sink = function("Sink", "async_handlers.succeed", environment={"TRACE_DIR": str(tmp_path)})
    config = AsyncInvokeConfig(maximum_retry_attempts=0, on_failure_arn=sink.arn)
    worker = function("Worker", "async_handlers.always_fail", async_config=config)
    with Runtime(stack(worker, sink), endpoints, log_dir=tmp_path / "logs") as rt:
        rt.invoke("Worker", {"order_id": "o-3"}, invocation_type="Event")
        received = wait_until(lambda: traces(tmp_path))
    assert received[0]["event"]["requestContext"]["condition"] == "RetriesExhausted"
    assert received[0]["event"]["requestPayload"] == {"order_id": "o-3"}


def test_rate_schedule_invokes_with_the_scheduled_event_shape(endpoints: Endpoints, tmp_path: Path) -> None:
    seen: list[Any] = []

    class Sources:
        def on_invocation(self, record: Any) -> None:
            seen.append(record.source)

    schedule = ScheduleSource(logical_id="Tick", expression="rate(1 minute)")
    spec = function("Ticker", "async_handlers.succeed", schedules=(schedule,), environment={"TRACE_DIR": str(tmp_path)})
    built = stack(spec)
    with Runtime(built, endpoints, log_dir=tmp_path / "logs", schedule_scale=0.005, observers=[Sources()]):
        ticks = wait_until(lambda: (found := traces(tmp_path)) and len(found) >= 2 and found)
    event = ticks[0]["event"]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events" and event["detail"] == {}
    assert event["account"] == "123456789012" and event["region"] == "us-east-1"
    assert event["resources"] == [f"arn:aws:events:us-east-1:123456789012:rule/{built.stack_name}-Tick"]
    assert set(seen) == {"schedule"}


def test_rate_expressions() -> None:
    assert rate_seconds("rate(1 minute)") == 60
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(2 hours)") == 7200
    assert rate_seconds("rate(1 day)") == 86400
    assert rate_seconds("cron(0 12 * * ? *)") is None
