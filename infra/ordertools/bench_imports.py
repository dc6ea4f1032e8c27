"""Cold-start import time per handler module, measured apart from the load run.

An invocation's `init_duration_ms` includes starting the interpreter and whatever the machine
was busy with at that moment; this measures only `importlib.import_module(handler module)` in a
fresh interpreter with the function's Lambda environment, when nothing else runs, so a change
to a handler's imports shows up here first.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from localcloud.model import FunctionSpec
from localcloud.runtime.environment import lambda_environment

# Runs in the child: task root first on sys.path, as the bootstrap has it, then time the import alone.
_PROBE = """
import importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
importlib.import_module(sys.argv[2])
print(json.dumps({"import_ms": (time.perf_counter() - started) * 1000.0}))
"""
_TIMEOUT_S = 60.0


def handler_module(spec: FunctionSpec) -> str:
    """"handlers/api.lambda_handler" -> "handlers.api", as the bootstrap resolves it."""
    return spec.handler.rpartition(".")[0].replace("/", ".")


def probe(spec: FunctionSpec, endpoint_env: dict[str, str], source: str, *args: str) -> dict[str, Any]:
    """Run `source` in a fresh python with the function's Lambda environment and task root as cwd; argv is
    (task root, handler module, *args); its last stdout line is the JSON answer."""
    code_dir = str(Path(spec.code_dir).resolve())
    env = lambda_environment(spec, endpoint_env, "bench/probe")
    completed = subprocess.run(
        [sys.executable, "-c", source, code_dir, handler_module(spec), *args],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"probing {handler_module(spec)} failed: {completed.stderr.strip()[-500:]}")
    answer: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return answer


def import_ms(spec: FunctionSpec, endpoint_env: dict[str, str]) -> float:
    return float(probe(spec, endpoint_env, _PROBE)["import_ms"])


def measure(functions: dict[str, FunctionSpec], endpoint_env: dict[str, str], runs: int) -> dict[str, Any]:
    """Per function: its module, p50 and every run's import time (ms), one module at a time."""
    figures: dict[str, Any] = {}
    for logical_id in sorted(functions):
        spec = functions[logical_id]
        times = [import_ms(spec, endpoint_env) for _ in range(runs)]
        figures[logical_id] = {
            "module": handler_module(spec),
            "p50_ms": round(statistics.median(times), 1),
            "runs_ms": [round(t, 1) for t in times],
        }
    return figures
