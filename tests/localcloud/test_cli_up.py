"""`orderflow up` in a subprocess: ready line, serving, `status` and `invoke` against it, clean SIGTERM shutdown."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).parent / "templates" / "deploy_api.yaml"


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "infra"), str(ROOT / "functions")])
    return env


def orderflow(*args: str, state_file: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "localcloud.cli", *args, "--template", str(TEMPLATE), "--stack-name", "cliup"]
    command += ["--state-file", str(state_file)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=cli_env(), cwd=ROOT)


class Up:
    """A running `orderflow up` whose stdout lines are read on a thread, so every wait is bounded."""

    def __init__(self, state_file: Path) -> None:
        command = [sys.executable, "-m", "localcloud.cli", "up", "--port", "0", "--template", str(TEMPLATE)]
        command += ["--stack-name", "cliup", "--state-file", str(state_file)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT)
        self._start_reading()

    def _start_reading(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting with {prefix!r} within {timeout}s; saw {self.seen}")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Up, str, Path]]:
    state_file = tmp_path_factory.mktemp("up") / "state.json"
    running = Up(state_file)
    try:
        ready = running.wait_for("ready ", timeout=90)
        yield running, ready.split()[1], state_file
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def test_up_prints_ready_with_a_serving_api_url_and_its_functions(up: tuple[Up, str, Path]) -> None:
    running, url, state_file = up
    assert url.startswith("http://127.0.0.1:")
    assert "function Describe (cliup-Describe, handlers.describe)" in running.seen
    assert "  http GET /describe/{name}" in running.seen
    with urllib.request.urlopen(url + "/describe/thing", timeout=30) as response:  # noqa: S310 - loopback
        assert json.loads(response.read())["name"] == "thing"
    state = json.loads(state_file.read_text())
    assert state["pid"] == running.process.pid
    assert state["api_url"] == url
    assert state["stack"]["resources"]["WorkQueue"]["physical_id"].endswith("/cliup-WorkQueue")


def test_status_reports_queue_and_dlq_depths_counts_and_invocations(up: tuple[Up, str, Path]) -> None:
    _, _, state_file = up
    state = json.loads(state_file.read_text())
    dlq_url = state["stack"]["resources"]["WorkDLQ"]["physical_id"]
    endpoint = state["endpoints"]["default"]
    import boto3

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    for body in ("dead-1", "dead-2"):
        sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    s3.put_object(Bucket=state["stack"]["resources"]["FilesBucket"]["physical_id"], Key="a.txt", Body=b"a")

    result = orderflow("status", "--json", state_file=state_file)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["queues"]["WorkDLQ"]["visible"] == 2
    assert status["queues"]["WorkQueue"]["dlq"] == "WorkDLQ"
    assert status["queues"]["WorkQueue"]["dlq_depth"] == 2
    assert status["buckets"] == {"FilesBucket": 1}
    assert status["tables"] == {"ItemsTable": 0}
    assert status["functions"]["Describe"]["in_flight"] == 0
    assert status["functions"]["Describe"]["invocations"] >= 1

    text = orderflow("status", state_file=state_file)
    assert "dlq WorkDLQ=2" in text.stdout


def test_invoke_goes_through_the_running_up(up: tuple[Up, str, Path], tmp_path: Path) -> None:
    _, url, state_file = up
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pathParameters": {"name": "via-up"}}))
    result = orderflow("invoke", "Describe", "--event", str(event), state_file=state_file)
    assert result.returncode == 0, result.stderr
    assert json.loads(json.loads(result.stdout)["body"])["name"] == "via-up"
    assert url in result.stderr


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_stops_everything_and_removes_the_state_file(up: tuple[Up, str, Path]) -> None:
    running, url, state_file = up
    environments = children(running.process.pid)
    assert environments, "the earlier invocations left warm execution environments"
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=30) == 0
    assert [pid for pid in environments if alive(pid)] == []
    running.wait_for("stopped", timeout=5)
    assert not state_file.exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/describe/x", timeout=5)  # noqa: S310 - loopback
    result = orderflow("status", state_file=state_file)
    assert result.returncode == 1
    assert "no local cloud is running" in result.stdout
