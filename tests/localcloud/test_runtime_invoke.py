"""Execution environments: Lambda's environment, context, cold and warm starts, errors, limits, shutdown,
and the fork server they come from.

Lambda runs the function's init (the module's import) in the new execution environment, with
the function's variables, and reports it as the cold start's Init Duration:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-ib
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from runtime_handlers.stack_kit import HANDLERS, function, make_queue, stack
from support.waits import wait_until

from localcloud.emulator import Endpoints
from localcloud.runtime import InvocationRecord, Runtime, capacity, environment
from localcloud.runtime.forkserver import SERVER


def test_environment_variables_reach_the_handler(endpoints: Endpoints, tmp_path: Path) -> None:
    url, _, _ = make_queue(endpoints)
    spec = function("Echo", "echo.handler", memory_mb=256, environment={"QUEUE_URL": url, "POWERTOOLS_SERVICE_NAME": "orders"})
    with Runtime(stack(spec), endpoints, log_dir=tmp_path) as rt:
        env = rt.invoke("Echo", {}).payload["env"]
    assert env["QUEUE_URL"] == url and env["POWERTOOLS_SERVICE_NAME"] == "orders"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == spec.function_name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13" and env["_HANDLER"] == "echo.handler"
    assert env["LAMBDA_TASK_ROOT"] == str(HANDLERS) and env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{spec.function_name}" and env["TZ"] == ":UTC"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert env["AWS_ENDPOINT_URL"] == endpoints.default and env["AWS_REGION"] == "us-east-1"
    assert "PYTEST_CURRENT_TEST" not in env  # the host's environment does not leak in


def test_cold_start_once_then_warm_in_the_same_process(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("Echo", "echo.handler")), endpoints, log_dir=tmp_path) as rt:
        results = [rt.invoke("Echo", {"n": i}) for i in range(3)]
        stats = rt.stats()["Echo"]
    assert [r.cold_start for r in results] == [True, False, False]
    assert len({r.payload["pid"] for r in results}) == 1 and results[0].payload["pid"] != os.getpid()
    assert len({r.payload["imported_at"] for r in results}) == 1  # the module was imported once
    assert results[0].init_duration_ms is not None and results[1].init_duration_ms is None
    assert results[0].payload["cwd"] == str(HANDLERS)
    assert stats["cold_starts"] == 1 and stats["invocations"] == 3 and stats["environments"] == 1


def test_context_object(endpoints: Endpoints, tmp_path: Path) -> None:
    spec = function("Echo", "echo.handler", timeout_s=5, memory_mb=512)
    with Runtime(stack(spec), endpoints, log_dir=tmp_path) as rt:
        result = rt.invoke("Echo", {})
    ctx = result.payload["context"]
    assert ctx["aws_request_id"] == result.request_id
    assert ctx["function_name"] == spec.function_name and ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == spec.arn and ctx["memory_limit_in_mb"] == "512"
    assert ctx["log_group_name"] == f"/aws/lambda/{spec.function_name}" and "[$LATEST]" in ctx["log_stream_name"]
    assert 4000 < ctx["remaining_ms"] <= 5000


def test_errors_come_back_in_lambdas_shape(endpoints: Endpoints, tmp_path: Path) -> None:
    functions = (
        function("Fail", "echo.fail"),
        function("Broken", "broken_import.handler"),
        function("Missing", "no_such_module.handler"),
        function("NoHandler", "echo.nope"),
        function("Exit", "echo.exit_process"),
        function("Marshal", "echo.not_serialisable"),
    )
    with Runtime(stack(*functions), endpoints, log_dir=tmp_path) as rt:
        results = {name: rt.invoke(name, {"order_id": "o-1"}) for name in ("Fail", "Broken", "Missing", "NoHandler", "Exit", "Marshal")}
        stats = rt.stats()
    fail = results["Fail"].error
    assert fail["errorType"] == "ValueError" and fail["errorMessage"] == "bad order o-1"
    assert fail["stackTrace"] and "echo.py" in fail["stackTrace"][-1] and all("bootstrap.py" not in s for s in fail["stackTrace"])
    assert results["Broken"].error["errorType"] == "RuntimeError"  # an exception at import: the init error
    assert results["Missing"].error["errorType"] == "Runtime.ImportModuleError"
    assert results["Missing"].error["errorMessage"].startswith("Unable to import module 'no_such_module'")
    assert results["NoHandler"].error["errorType"] == "Runtime.HandlerNotFound"
    assert results["Exit"].error["errorType"] == "Runtime.ExitError" and "exit status 3" in results["Exit"].error["errorMessage"]
    assert results["Marshal"].error["errorType"] == "Runtime.MarshalError"
    assert stats["Broken"]["environments"] == 0 and stats["Exit"]["environments"] == 0
    assert all(stats[name]["errors"] == 1 for name in results)
    log = (tmp_path / "Fail.log").read_text()
    assert f"START RequestId: {results['Fail'].request_id}" in log and "[ERROR] ValueError: bad order o-1" in log


def test_timeout_kills_the_environment_and_the_next_invoke_is_cold(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("Echo", "echo.handler", timeout_s=1)), endpoints, log_dir=tmp_path) as rt:
        first = rt.invoke("Echo", {})
        started = time.monotonic()
        late = rt.invoke("Echo", {"sleep_s": 10})
        elapsed = time.monotonic() - started
        after = rt.invoke("Echo", {})
    assert late.timed_out and late.error == {
        "errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds", "stackTrace": []
    }
    assert 1.0 <= elapsed < 5.0  # cut off near the timeout, not after the 10 s sleep
    assert after.cold_start and after.payload["pid"] != first.payload["pid"]
    assert not _alive(first.payload["pid"])


def test_an_init_past_the_init_limit_is_charged_to_the_first_invocations_timeout(
    endpoints: Endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(environment, "INIT_TIMEOUT_S", 0.5)  # Lambda's 10 s, scaled down
    functions = (
        function("Slow", "slow_import.handler", timeout_s=3, environment={"SLOW_IMPORT_S": "1.5"}),
        function("TooSlow", "slow_import.handler", timeout_s=1, environment={"SLOW_IMPORT_S": "2.5"}),  # past 0.5 s + 1 s
    )
    with Runtime(stack(*functions), endpoints, log_dir=tmp_path) as rt:
        slow_first, slow_warm = rt.invoke("Slow", {}), rt.invoke("Slow", {})
        too_slow = rt.invoke("TooSlow", {})
    assert slow_first.error is None and slow_first.cold_start  # an overrun init is not a failure, as on AWS
    assert 1000 < slow_first.payload["remaining_ms"] <= 2000  # the second past the limit came off its 3 s
    assert not slow_warm.cold_start and slow_warm.payload["remaining_ms"] > 2500  # later invocations get all of it
    assert too_slow.error == {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 1.00 seconds", "stackTrace": []}


def test_handler_output_goes_to_the_functions_log(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("Printer", "echo.printer")), endpoints, log_dir=tmp_path) as rt:
        result = rt.invoke("Printer", {})
    assert result.payload == "printed"
    assert f"hello from {result.request_id}" in (tmp_path / "Printer.log").read_text()


def test_aws_calls_are_counted_in_the_handler_process(endpoints: Endpoints, tmp_path: Path) -> None:
    url, _, _ = make_queue(endpoints)
    with Runtime(stack(function("Caller", "echo.call_sqs")), endpoints, log_dir=tmp_path) as rt:
        first = rt.invoke("Caller", {"n": 3, "queue_url": url})
        second = rt.invoke("Caller", {"n": 1, "queue_url": url})
    assert first.payload == "sent"
    assert first.aws_calls == {"sqs.SendMessage": 3, "sqs.GetQueueAttributes": 1}
    assert second.aws_calls == {"sqs.SendMessage": 1, "sqs.GetQueueAttributes": 1}


def test_concurrent_direct_invokes_use_separate_environments_and_reserved_concurrency_throttles(
    endpoints: Endpoints, tmp_path: Path
) -> None:
    with Runtime(stack(function("Echo", "echo.handler", reserved_concurrency=2)), endpoints, log_dir=tmp_path) as rt:
        results = []
        threads = [threading.Thread(target=lambda: results.append(rt.invoke("Echo", {"sleep_s": 0.5}))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        stats = rt.stats()["Echo"]
    ran = [r for r in results if r.ok]
    throttled = [r for r in results if r.throttled]
    assert len(ran) == 2 and len(throttled) == 1
    assert throttled[0].error["errorType"] == "TooManyRequestsException"
    assert len({r.payload["pid"] for r in ran}) == 2
    assert stats["throttles"] == 1 and stats["peak_in_flight"] == 2


def test_max_environments_evicts_idle_environments_of_other_functions(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("A", "echo.handler"), function("B", "echo.handler")), endpoints, log_dir=tmp_path, max_environments=1) as rt:
        a1 = rt.invoke("A", {})
        b1 = rt.invoke("B", {})
        a2 = rt.invoke("A", {})
        stats = rt.stats()
    assert a1.cold_start and b1.cold_start and a2.cold_start  # each took the single slot from the other
    assert not _alive(a1.payload["pid"]) and not _alive(b1.payload["pid"])
    assert stats["A"]["environments"] + stats["B"]["environments"] <= 1


def test_a_burst_of_cold_starts_queues_for_init_slots_instead_of_sharing_the_cores(endpoints: Endpoints, tmp_path: Path) -> None:
    slow = {"SLOW_IMPORT_S": "0.5"}
    functions = [function(f"S{i}", "slow_import.handler", timeout_s=10, environment=slow) for i in range(3)]
    with Runtime(stack(function("Warm", "echo.handler"), *functions), endpoints, log_dir=tmp_path, max_concurrent_inits=1) as rt:
        rt.invoke("Warm", {})  # the fork server is up: what follows times the inits alone
        results = []
        threads = [threading.Thread(target=lambda n=n: results.append(rt.invoke(n, {}))) for n in ("S0", "S1", "S2")]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
        elapsed = time.monotonic() - started
    assert len(results) == 3 and all(r.ok and r.cold_start for r in results)
    assert elapsed >= 1.5  # one init at a time: three imports of 0.5 s in a row
    assert all(r.init_duration_ms < 1000 for r in results)  # the wait for a slot is not part of the init


def test_the_environment_cap_follows_memory_within_bounds_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capacity, "cores", lambda: 2)
    monkeypatch.setattr(capacity, "available_memory_bytes", lambda: 10 * capacity.ENVIRONMENT_BYTES)
    assert capacity.default_max_environments() == 5  # half the free memory
    monkeypatch.setattr(capacity, "available_memory_bytes", lambda: 0)
    assert capacity.default_max_environments() == 2  # never below 2
    monkeypatch.setattr(capacity, "available_memory_bytes", lambda: 1 << 40)
    assert capacity.default_max_environments() == 32 and capacity.concurrent_inits() == 2  # 16 per core, one init per core


def test_observers_see_every_invocation(endpoints: Endpoints, tmp_path: Path) -> None:
    seen: list[InvocationRecord] = []

    class Recorder:
        def on_invocation(self, record: InvocationRecord) -> None:
            seen.append(record)

    class Broken:
        def on_invocation(self, record: InvocationRecord) -> None:
            raise RuntimeError("observer bug")

    with Runtime(stack(function("Echo", "echo.handler")), endpoints, log_dir=tmp_path, observers=[Broken(), Recorder()]) as rt:
        result = rt.invoke("Echo", {"k": "v"})
    assert len(seen) == 1
    record = seen[0]
    assert record.function == "Echo" and record.source == "direct" and record.event == {"k": "v"}
    assert record.result is result and record.started_at <= record.finished_at


def test_stop_leaves_no_thread_or_process(endpoints: Endpoints, tmp_path: Path) -> None:
    url, arn, _ = make_queue(endpoints)
    from localcloud.runtime.event_sources.rules import sqs_source

    source = sqs_source("Q", arn, url)
    spec = function("Echo", "echo.handler", sqs_sources=(source,), timeout_s=30)
    threads_before = set(threading.enumerate())
    children_before = set(_children())  # the embedded moto server's process among them
    rt = Runtime(stack(spec, function("Other", "echo.handler")), endpoints, log_dir=tmp_path)
    rt.start()
    rt.serve_http()
    warm = rt.invoke("Other", {})
    busy = threading.Thread(target=rt.invoke, args=("Echo", {"sleep_s": 20}))
    busy.start()
    wait_until(lambda: rt.stats()["Echo"]["in_flight"] == 1 and rt.stats()["Echo"]["environments"] == 1)
    started = time.monotonic()
    rt.stop()
    busy.join(5)
    assert time.monotonic() - started < 5
    assert not _alive(warm.payload["pid"])
    left = [t for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert left == []
    assert set(_children()) - children_before == set()


def test_the_init_runs_after_the_fork_with_the_functions_own_environment(endpoints: Endpoints, tmp_path: Path) -> None:
    url, _, _ = make_queue(endpoints)
    functions = (
        function("Echo", "echo.handler", environment={"ONLY_ECHO": "1"}),
        function("First", "boto3_init.handler", environment={"INIT_MARK": "first", "INIT_QUEUE_URL": url}),
        function("Second", "boto3_init.handler", environment={"INIT_MARK": "second", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}),
    )
    with Runtime(stack(*functions), endpoints, log_dir=tmp_path) as rt:
        echo = rt.invoke("Echo", {})
        first = rt.invoke("First", {"queue_url": url})
        first_warm = rt.invoke("First", {"queue_url": url})
        second = rt.invoke("Second", {})
    assert first.error is None and first.cold_start and first.init_duration_ms is not None
    assert first.payload["init_mark"] == "first" and second.payload["init_mark"] == "second"  # read at import
    # The call made at import is counted in the cold start, besides the handler's two; the warm one has only those.
    assert first.aws_calls == {"sqs.GetQueueAttributes": 2, "sqs.SendMessage": 1}
    assert first_warm.aws_calls == {"sqs.GetQueueAttributes": 1, "sqs.SendMessage": 1}
    # boto3's session is born in each environment from its own variables: endpoint and region.
    assert first.payload["endpoint_url"] == endpoints.default and first.payload["region"] == "us-east-1"
    assert second.payload["region"] == "eu-west-1"
    # Isolation: no environment holds another's module or variable, nor the local cloud's modules
    # (bootstrap is __main__, as when it was the script).
    assert first.payload["modules"] == ["boto3_init"] and second.payload["modules"] == ["boto3_init"]
    assert first.payload["main_file"] == str(SERVER.parent / "bootstrap.py")
    assert "ONLY_ECHO" in echo.payload["env"] and echo.payload["pid"] not in {first.payload["pid"], second.payload["pid"]}
    assert first.payload["pid"] != second.payload["pid"]


def test_libraries_that_read_the_environment_when_first_imported_see_the_functions(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("Traced", "traced.handler")), endpoints, log_dir=tmp_path) as rt:
        result = rt.invoke("Traced", {})
    assert result.error is None and result.payload == "traced"


def test_a_timeout_kills_the_environment_and_what_its_handler_spawned(endpoints: Endpoints, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    with Runtime(stack(function("Spawner", "spawner.handler", timeout_s=1)), endpoints, log_dir=tmp_path) as rt:
        result = rt.invoke("Spawner", {"pid_file": str(pid_file), "sleep_s": 30})
    assert result.timed_out and result.error["errorType"] == "Sandbox.Timedout"
    assert not _alive(int(pid_file.read_text()))


def test_a_sigkill_from_outside_is_a_runtime_exit_error_and_the_next_invoke_is_cold(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("Echo", "echo.handler", timeout_s=10)), endpoints, log_dir=tmp_path) as rt:
        warm = rt.invoke("Echo", {})
        results = []
        busy = threading.Thread(target=lambda: results.append(rt.invoke("Echo", {"sleep_s": 8})))
        busy.start()
        wait_until(lambda: rt.stats()["Echo"]["in_flight"] == 1)
        time.sleep(0.2)
        os.kill(warm.payload["pid"], signal.SIGKILL)
        busy.join(5)
        after = rt.invoke("Echo", {})
    error = results[0].error
    # As recorded on AWS (an environment killed for memory): "RequestId: abc-123 Error: Runtime exited with
    # error: signal: killed" / Runtime.ExitError, https://cloudwithgagan.com/blog/fix-lambda-function-timeout-memory-errors
    assert error["errorType"] == "Runtime.ExitError" and error["errorMessage"].endswith("Runtime exited with error: signal: killed")
    assert after.cold_start and after.payload["pid"] != warm.payload["pid"]
    assert not _alive(warm.payload["pid"])


def test_a_dead_fork_server_is_replaced_and_running_environments_go_on(endpoints: Endpoints, tmp_path: Path) -> None:
    with Runtime(stack(function("A", "echo.handler"), function("B", "echo.handler")), endpoints, log_dir=tmp_path) as rt:
        a_cold = rt.invoke("A", {})
        (server,) = _fork_servers()
        os.kill(server, signal.SIGKILL)
        wait_until(lambda: not _alive(server))
        a_warm = rt.invoke("A", {})
        b_cold = rt.invoke("B", {})
        (replacement,) = _fork_servers()
    assert a_warm.error is None and not a_warm.cold_start and a_warm.payload["pid"] == a_cold.payload["pid"]
    assert b_cold.error is None and b_cold.cold_start and replacement != server
    assert "the fork server exited" not in (tmp_path / "B.log").read_text()
    assert _fork_servers() == [] and not _alive(a_cold.payload["pid"]) and not _alive(b_cold.payload["pid"])


def _fork_servers() -> list[int]:
    """Live fork server processes started by this test process."""
    return [pid for pid in _children() if str(SERVER).encode() in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _children() -> list[int]:
    """Live child processes of this test process."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().split(") ")[1].split()
            except (FileNotFoundError, IndexError):
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                found.append(int(entry.name))
    return found
