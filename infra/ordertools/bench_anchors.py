"""The runtime's warm-invoke overhead, measured against a bare call of the same handler on the same event.

Through the runtime: `Runtime.invoke` (pick an environment, frame the request over the pipe, the
handler, the reply, observers), timed around the call in this process. Bare: a fresh python with
the function's Lambda environment imports the handler module and calls `handler(event, context)`
in-process (the context is the bootstrap's own `LambdaContext`), timed around the call alone. The
first call of each is left out (cold: import, first connection); both reach the same emulator.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from localcloud.runtime import bootstrap
from localcloud.runtime.runtime import Runtime
from ordertools.bench_imports import handler_module, probe
from ordertools.bench_observer import percentiles

DEFAULT_EVENT = Path("events/ApiFunction/get_products.json")
DEFAULT_FUNCTION = "ApiFunction"

# In the child: argv = task root, handler module, handler attribute, event file, bootstrap path, calls.
_BARE = """
import importlib, importlib.util, json, sys, time
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("_bench_bootstrap", sys.argv[5])
bootstrap = importlib.util.module_from_spec(spec); spec.loader.exec_module(bootstrap)
handler = getattr(importlib.import_module(sys.argv[2]), sys.argv[3])
event = json.loads(open(sys.argv[4]).read())
times = []
for n in range(int(sys.argv[6]) + 1):
    context = bootstrap.LambdaContext({"request_id": f"bench-bare-{n}", "invoked_function_arn": "arn:aws:lambda:::function:bench",
                                       "deadline_ms": int(time.time() * 1000) + 30000})
    started = time.perf_counter()
    handler(json.loads(json.dumps(event)), context)
    times.append((time.perf_counter() - started) * 1000.0)
print(json.dumps({"first_ms": times[0], "warm_ms": times[1:]}))
"""


def through_runtime(runtime: Runtime, function: str, event: Any, calls: int) -> dict[str, Any]:
    """(cold first call, warm calls) through the runtime, wall time around `Runtime.invoke`."""
    times, cold = [], None
    for n in range(calls + 1):
        started = time.perf_counter()
        result = runtime.invoke(function, event, source="direct")
        elapsed = (time.perf_counter() - started) * 1000.0
        if not result.ok:
            raise RuntimeError(f"{function} failed on the anchor event: {result.error}")
        if n == 0:
            cold = {"ms": round(elapsed, 1), "cold_start": result.cold_start, "init_ms": result.init_duration_ms}
        else:
            times.append(elapsed)
    return {"first": cold, "warm_ms": percentiles(times)}


def warm_overhead(runtime: Runtime, endpoint_env: dict[str, str], event_file: Path, function: str, calls: int) -> dict[str, Any]:
    """The `anchors.warm_invoke` section: runtime vs bare p50 on one event, and the difference."""
    spec = runtime.stack.function(function)
    event = json.loads(event_file.read_text())
    runtime_figures = through_runtime(runtime, spec.logical_id, event, calls)
    attribute = spec.handler.rpartition(".")[2]
    bare = probe(spec, endpoint_env, _BARE, attribute, str(event_file.resolve()), str(Path(bootstrap.__file__).resolve()), str(calls))
    bare_warm = percentiles(bare["warm_ms"])
    through, alone = runtime_figures["warm_ms"]["p50"], bare_warm["p50"]
    return {
        "function": spec.logical_id,
        "module": handler_module(spec),
        "event": str(event_file),
        "calls": calls,
        "runtime": runtime_figures,
        "bare_warm_ms": bare_warm,
        "overhead_ms_p50": round(through - alone, 1) if through is not None and alone is not None else None,
        "ratio_p50": round(through / alone, 2) if through and alone else None,
    }
