"""The CPU accounting of `orderflow bench`: /proc reading, naming, what sampling misses, the per-tenth cuts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from localcloud.emulator import Endpoints
from localcloud.model import ACCOUNT_ID, DEFAULT_REGION, DeployedStack, FunctionSpec
from localcloud.runtime import Runtime
from ordertools.bench_cpu import EMULATOR, RUNTIME, CpuSampler, Snapshot, cpu_at, descendants, per_tenth, process_name

_SPIN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\n{after}"


def _spinner(seconds: float, after: str = "", env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _SPIN.format(seconds=seconds, after=after)], env=env)


def test_a_child_is_found_and_named_by_its_function() -> None:
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_NAME": "orderflow-bench-ApiFunction-x"}
    child = _spinner(0.0, "time.sleep(30)", env)
    try:
        time.sleep(0.3)
        assert child.pid in {p.pid for p in descendants(os.getpid())}
        assert process_name(child.pid, {"orderflow-bench-ApiFunction-x": "ApiFunction"}) == "ApiFunction"
        assert process_name(child.pid, {}) == "orderflow-bench-ApiFunction-x"
    finally:
        child.kill()
        child.wait()


def test_the_emulator_is_named_by_its_script(tmp_path: object) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "moto_process.py"])
    try:
        time.sleep(0.3)
        assert process_name(child.pid, {}) == EMULATOR
    finally:
        child.kill()
        child.wait()


def test_cpu_of_a_process_that_ends_between_samples_is_recovered_from_the_kernel() -> None:
    """A child that burns 0.3 s after the last sample and is reaped: sampling alone misses it, the window does not."""
    sampler = CpuSampler({})
    sampler.open_window()
    child = _spinner(0.0, "time.sleep(0.5)\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass")
    time.sleep(0.3)
    first = sampler.snapshot(record=True)  # sees the child asleep, having used almost nothing
    child.wait()
    sampler.snapshot(record=True)
    assert sampler.ended_in_window() == 1
    assert 0.25 <= sampler.reaped_unsampled_s() <= 1.0
    assert first.by_name[RUNTIME] >= 0


def test_cpu_at_interpolates_between_samples_and_clamps_outside() -> None:
    series = [Snapshot(10.0, {"a": 1.0}), Snapshot(12.0, {"a": 2.0, "b": 2.0})]
    assert cpu_at(series, 9.0) == 1.0
    assert cpu_at(series, 11.0) == 2.5
    assert cpu_at(series, 13.0) == 4.0


def test_per_tenth_cuts_where_each_tenths_last_order_settled() -> None:
    series = [Snapshot(float(t), {"all": float(t)}) for t in range(0, 101)]  # one CPU second per wall second
    settle_times = [float(t) for t in range(5, 105, 5)][:20]  # 20 orders, one every 5 s from t=5
    tenths = per_tenth(series, 0.0, settle_times)
    assert [t["orders"] for t in tenths] == [2] * 10
    assert tenths[0] == {"tenth": 1, "orders": 2, "wall_s": 10.0, "cpu_ms_per_order": 5000.0}
    assert tenths[9]["wall_s"] == 10.0  # cut at 100 s, the series' end
    assert per_tenth(series, 0.0, []) == []


def test_environments_count_with_the_cpu_their_reaper_measured(tmp_path: Path) -> None:
    """Environments are the fork server's children: /proc no longer names them (os.environ set after a fork
    is not /proc/<pid>/environ) and this process cannot reap them. The runtime reports both, so an
    environment that ended before any sample saw it still counts, in full, under its function."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "spin.py").write_text(_SPIN.format(seconds=0, after="") + "\n\ndef handler(event, context):\n"
                                  "    t = time.process_time()\n    while time.process_time() - t < event['burn_s']: pass\n")
    spec = FunctionSpec(logical_id="Spin", function_name="bench-cpu-spin", arn=f"arn:aws:lambda:{DEFAULT_REGION}:{ACCOUNT_ID}:function:bench-cpu-spin",
                        handler="spin.handler", runtime="python3.13", code_dir=code, timeout_s=10)
    stack = DeployedStack(stack_name="bench-cpu", region=DEFAULT_REGION, account_id=ACCOUNT_ID, parameters={}, resources={},
                          functions={"Spin": spec}, outputs={})
    with Runtime(stack, Endpoints(default="http://127.0.0.1:9"), log_dir=tmp_path / "logs") as rt:
        sampler = CpuSampler({spec.function_name: "Spin"}, environments=rt.environment_processes)
        before = sampler.snapshot()
        assert rt.invoke("Spin", {"burn_s": 0.3}).error is None
        [pid] = rt.environment_processes()
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while rt.environment_processes()[pid][1] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = sampler.snapshot().minus(before)
    assert spent["Spin"] >= 0.25
