"""Cold starts of the local runtime, measured: a trivial handler and one that initialises boto3.

Each run is a new function in one Runtime, so every invoke is a cold start of a fresh
environment; the first function of the run warms the runtime itself (not counted). Prints,
per handler, the median and p90 of the cold invoke (request to result, what a caller waits)
and of the init reported by the environment (the handler module's import), and writes them
to `.orderflow/bench-cold-start.json`.

    .venv/bin/python -m ordertools.bench_cold_start --runs 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from localcloud.emulator import EmbeddedMoto
from localcloud.model import ACCOUNT_ID, DEFAULT_REGION, DeployedStack, FunctionSpec
from localcloud.runtime import Runtime

HANDLERS = Path(__file__).resolve().parents[2] / "tests" / "localcloud" / "runtime_handlers"
CASES = {"trivial": "echo.handler", "boto3": "boto3_init.handler"}
OUT = Path(".orderflow/bench-cold-start.json")


def _spec(logical_id: str, handler: str) -> FunctionSpec:
    name = f"{logical_id}-{uuid.uuid4().hex[:8]}"
    return FunctionSpec(
        logical_id=logical_id,
        function_name=name,
        arn=f"arn:aws:lambda:{DEFAULT_REGION}:{ACCOUNT_ID}:function:{name}",
        handler=handler,
        runtime="python3.13",
        code_dir=HANDLERS,
        timeout_s=30,
    )


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 1), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 1)}


def measure(runs: int) -> dict[str, Any]:
    specs = [_spec("Warmup", CASES["trivial"])]
    specs += [_spec(f"{case}{i}", handler) for case, handler in CASES.items() for i in range(runs)]
    stack = DeployedStack(
        stack_name="bench-cold-start", region=DEFAULT_REGION, account_id=ACCOUNT_ID,
        parameters={}, resources={}, functions={spec.logical_id: spec for spec in specs}, outputs={},
    )
    figures: dict[str, Any] = {"load_average": os.getloadavg(), "runs": runs}
    with EmbeddedMoto() as endpoints, Runtime(stack, endpoints, log_dir=Path(tempfile.mkdtemp())) as rt:
        rt.invoke("Warmup", {})
        for case in CASES:
            invoke_ms, init_ms = [], []
            for i in range(runs):
                started = time.perf_counter()
                result = rt.invoke(f"{case}{i}", {})
                invoke_ms.append((time.perf_counter() - started) * 1000)
                if result.error or not result.cold_start or result.init_duration_ms is None:
                    raise RuntimeError(f"{case}{i}: not a clean cold start: {result}")
                init_ms.append(result.init_duration_ms)
            figures[case] = {"cold_invoke_ms": _percentiles(invoke_ms), "init_ms": _percentiles(init_ms)}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    figures = measure(args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
