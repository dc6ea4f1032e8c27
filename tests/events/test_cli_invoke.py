"""A few corpus files through the real `orderflow invoke` command, as a developer runs them.

Each run starts its own local cloud (no `orderflow up` is consulted: the state file points
nowhere), so only files whose expected outcome needs no `given` state qualify.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from localcloud.runtime.results import InvokeResult

from .harness import EVENTS, ROOT, load_case, response_differences

ORDERFLOW = Path(sys.executable).with_name("orderflow")
CLI_TIMEOUT_S = 240
# One answer (HTTP 404) and one failed invocation (exit status 1, Lambda's error shape).
FILES = ["ApiFunction/get_order_missing.json", "ImportFunction/malformed_notification.json"]

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("relative", FILES)
def test_orderflow_invoke(relative: str, tmp_path: Path) -> None:
    case = load_case(EVENTS / relative)
    assert "given" not in case.expected, "a fresh cloud has no given state: pick a file without `given`"
    completed = subprocess.run(
        [str(ORDERFLOW), "invoke", case.function, "--event", str(case.path), "--state-file", str(tmp_path / "no-up.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    failed = "errorType" in case.expected
    assert completed.returncode == (1 if failed else 0), completed.stderr[-3000:]
    printed = json.loads(completed.stdout.strip().splitlines()[-1])
    result = InvokeResult(request_id="", payload=None if failed else printed, error=printed if failed else None)
    problems = response_differences(result, case.expected)
    assert not problems, "\n".join(problems)
