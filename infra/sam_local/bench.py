"""`make bench-sam-local`: the local runtime's invokes beside `sam local`'s, on the same event files, as ratios.

Runs inside the private network namespace (`driver bench CASES`, from run.sh): for every case,
- the local runtime: a fresh `LocalCloud` (embedded moto on loopback, no HTTP gateway); the
  function's first invoke is its cold start, then `--calls` warm invokes (`Runtime.invoke`);
- `sam local invoke`: `SAM_BENCH_INVOKES` runs of the whole command (each one a new container:
  always cold), wall time of the command;
- `sam local start-lambda --warm-containers EAGER`: started once for all cases (its start-up, the
  eager containers included, is timed apart), then per case a first invoke and `--calls` warm
  ones through boto3's Lambda client at its endpoint.
Both sides use the same moto server code and the same handler code; sam's containers reach their
moto on the Docker bridge. Writes the figures and the ratios (sam / local runtime) to
`SAM_BENCH_OUT` (default .orderflow/bench-sam-local.json) and prints them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud.cloud import LocalCloud
from ordertools.bench_anchors import through_runtime
from ordertools.bench_observer import percentiles
from sam_local.cases import Case, CaseFile, problems
from sam_local.driver import ROOT, SamStack, sam_command, sam_stack

CALLS = int(os.environ.get("SAM_BENCH_CALLS", "20"))
INVOKES = int(os.environ.get("SAM_BENCH_INVOKES", "3"))
OUT = Path(os.environ.get("SAM_BENCH_OUT", str(ROOT / ".orderflow" / "bench-sam-local.json")))
_START_TIMEOUT_S = 300.0
_STOP_TIMEOUT_S = 60.0


def _event(case: Case) -> Any:
    return json.loads(case.event.read_text())


def _label(case: Case) -> str:
    return f"{case.function} <- {case.event.relative_to(ROOT) if case.event.is_relative_to(ROOT) else case.event}"


def local_runtime(case_file: CaseFile) -> dict[str, Any]:
    """Per case: the cold first invoke and the warm ones, through the local runtime."""
    figures = {}
    with LocalCloud(template=case_file.template, stack_name="orderflow-sam-bench", serve_http=False) as cloud:
        for case in case_file.cases:
            figures[_label(case)] = through_runtime(cloud.runtime, case.function, _event(case), CALLS)
    return figures


def sam_invoke(case: Case, sam: SamStack) -> dict[str, Any]:
    times = []
    for _ in range(INVOKES):
        started = time.perf_counter()
        proc = subprocess.run(sam.invoke_command(case), env=sam.env(), capture_output=True, text=True, timeout=300, check=False)
        times.append((time.perf_counter() - started) * 1000.0)
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        failures = [f"sam exited {proc.returncode}"] if proc.returncode else []
        failures += problems(json.loads(lines[-1]) if lines else None, case.expect)
        if failures:
            raise RuntimeError(f"sam local invoke {_label(case)}: {failures}; stderr: {proc.stderr[-800:]}")
    return {"ms": percentiles(times)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sam local start-lambda exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"sam local start-lambda did not listen on {port} within {timeout_s:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user would (sam stops its containers), then SIGKILL of its group if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def sam_start_lambda(case_file: CaseFile, sam: SamStack, log: Path) -> dict[str, Any]:
    port = _free_port()
    command = sam_command("local", "start-lambda", "--host", "127.0.0.1", "--port", str(port), "--warm-containers", "EAGER", *sam.options())
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=sam.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_listening(port, process, _START_TIMEOUT_S)
        ready_ms = (time.perf_counter() - started) * 1000.0
        client = boto3.client(
            "lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
            config=Config(read_timeout=300, retries={"max_attempts": 0}),
        )  # fmt: skip
        figures: dict[str, Any] = {"ready_ms": round(ready_ms, 1), "cases": {}}
        for case in case_file.cases:
            payload = case.event.read_bytes()
            times = []
            for _ in range(CALLS + 1):
                t0 = time.perf_counter()
                answer = client.invoke(FunctionName=case.function, Payload=payload)
                times.append((time.perf_counter() - t0) * 1000.0)
                body = json.loads(answer["Payload"].read() or b"null")
                failures = problems(body, case.expect) + ([answer["FunctionError"]] if "FunctionError" in answer else [])
                if failures:
                    raise RuntimeError(f"start-lambda {_label(case)}: {failures}")
            figures["cases"][_label(case)] = {"first_ms": round(times[0], 1), "warm_ms": percentiles(times[1:])}
        return figures
    finally:
        _stop(process)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a and b else None


def ratios(local: dict[str, Any], invoke: dict[str, Any], start_lambda: dict[str, Any]) -> dict[str, Any]:
    """sam / local runtime: warm against warm, cold against cold (sam local invoke is always cold)."""
    table = {}
    for label, ours in local.items():
        theirs = start_lambda["cases"][label]
        table[label] = {
            "start_lambda_warm_vs_runtime_warm": _ratio(theirs["warm_ms"]["p50"], ours["warm_ms"]["p50"]),
            "start_lambda_first_vs_runtime_cold": _ratio(theirs["first_ms"], ours["first"]["ms"]),
            "sam_invoke_vs_runtime_cold": _ratio(invoke[label]["ms"]["p50"], ours["first"]["ms"]),
        }
    return table


def bench(case_file: CaseFile) -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    local = local_runtime(case_file)
    with sam_stack(case_file) as sam:
        invoke = {_label(case): sam_invoke(case, sam) for case in case_file.cases}
        start_lambda = sam_start_lambda(case_file, sam, OUT.with_suffix(".start-lambda.log"))
    result = {
        "run": {"loadavg_before": loadavg_before, "loadavg_after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
                "calls": CALLS, "sam_invokes": INVOKES},
        "local_runtime": local,
        "sam_local_invoke": invoke,
        "sam_start_lambda_eager": start_lambda,
        "ratios_sam_over_runtime": ratios(local, invoke, start_lambda),
    }  # fmt: skip
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(format_result(result))
    print(f"sam-local bench: wrote {OUT}")
    return 0


def format_result(result: dict[str, Any]) -> str:
    lines = [f"bench-sam-local: load average {result['run']['loadavg_before']} ({result['run']['cpus']} cpus), "
             f"{result['run']['calls']} warm calls, {result['run']['sam_invokes']} sam local invoke runs per case; "
             f"start-lambda EAGER ready in {result['sam_start_lambda_eager']['ready_ms']:.0f} ms"]  # fmt: skip
    for label, ours in result["local_runtime"].items():
        theirs = result["sam_start_lambda_eager"]["cases"][label]
        ratio = result["ratios_sam_over_runtime"][label]
        lines += [
            f"{label}",
            f"  warm p50: runtime {ours['warm_ms']['p50']} ms, start-lambda {theirs['warm_ms']['p50']} ms "
            f"(x{ratio['start_lambda_warm_vs_runtime_warm']})",
            f"  cold: runtime first invoke {ours['first']['ms']} ms, sam local invoke p50 {result['sam_local_invoke'][label]['ms']['p50']} ms "
            f"(x{ratio['sam_invoke_vs_runtime_cold']}), start-lambda first {theirs['first_ms']} ms (x{ratio['start_lambda_first_vs_runtime_cold']})",
        ]
    return "\n".join(lines)
