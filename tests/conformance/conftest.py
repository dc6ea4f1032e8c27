"""The conformance suite: Lambda's event sources as AWS documents or was recorded doing them.

Each module deploys a small template of its own through the local cloud (the deployer and the
runtime `orderflow up` runs) once per emulator target (tests/conftest.py `target`), and its
cases read what the handlers were given (`Traces`) and what landed in the destinations. Each
case names its source: an AWS documentation page, or the recording against AWS of issue 11.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from support.targets import Target
from localcloud.cloud import LocalCloud

TEMPLATES = Path(__file__).resolve().parent / "templates"
T = TypeVar("T")


class Traces:
    """What each function of the template was invoked with, in delivery order."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def events(self, function_name: str) -> list[dict[str, Any]]:
        folder = self.root / function_name
        entries = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.exists() else []
        return [e["event"] for e in sorted(entries, key=lambda e: e["at"])]


def wait_for(probe: Callable[[], T], timeout_s: float = 60.0, what: str = "condition") -> T:
    """Poll `probe` until it returns something truthy; fail at the deadline, naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout_s} s (last value: {value!r})")
        time.sleep(0.1)


def receive_all(cloud: LocalCloud, queue_logical_id: str, expected: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """Receive and delete messages of a stack queue until `expected` have come (or fail)."""
    sqs = cloud.client("sqs")
    url = cloud.stack.physical_id(queue_logical_id)
    got: list[dict[str, Any]] = []

    def more() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(got) >= expected

    wait_for(more, timeout_s, f"{expected} messages on {queue_logical_id}")
    return got


def start_cloud(target: Target, template: str, trace_dir: Path, **runtime_options: Any) -> LocalCloud:
    cloud = LocalCloud(
        template=TEMPLATES / template,
        stack_name=target.stack_name(f"conf-{template.split('.')[0]}"),
        parameters={"TraceDir": str(trace_dir)},
        serve_http=False,
        runtime_options=runtime_options,
    )
    with target.environment():  # the endpoint variables only while it starts (it reads them then)
        cloud.start()
    return cloud


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Traces:
    return Traces(tmp_path_factory.mktemp("traces"))


def module_cloud(template: str, **runtime_options: Any) -> Any:
    """A module-scoped fixture: `template` deployed and running on the current target."""

    @pytest.fixture(scope="module")
    def cloud(target: Target, traces: Traces) -> Iterator[LocalCloud]:
        running = start_cloud(target, template, traces.root, **runtime_options)
        try:
            yield running
        finally:
            running.stop()

    return cloud
