"""`orderflow dlq | replay | record` against a real `orderflow up` (a subprocess), through the CLI's own parser."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from localcloud.cli import main
from localcloud.emulator import Endpoints
from ordertools import eventfiles
from ordertools.targets import from_state_file

from support.waits import wait_until


TEMPLATE = Path(__file__).parent / "templates" / "switch_consumer.yaml"
ORDERFLOW = Path(sys.executable).parent / "orderflow"


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    """`orderflow up` on the switch-consumer template; yields its state file."""
    work = tmp_path_factory.mktemp("up")
    state_file = work / "state.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    process = subprocess.Popen(
        [str(ORDERFLOW), "up", "--template", str(TEMPLATE), "--state-file", str(state_file), "--port", "0"],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()  # also keeps the pipe from filling up
    deadline, seen = time.monotonic() + 60, []
    while time.monotonic() < deadline and not any(line.startswith("ready ") for line in seen):
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            assert process.poll() is None, "".join(seen)
    assert any(line.startswith("ready ") for line in seen), "".join(seen)
    try:
        yield state_file
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dlq_replay_and_record_commands(up, capsys, tmp_path):
    state = ["--state-file", str(up)]
    target = from_state_file(up)
    endpoints: Endpoints = target.endpoints
    sqs, ssm, dynamodb = endpoints.client("sqs"), endpoints.client("ssm"), endpoints.client("dynamodb")
    queue = target.queue_url("WorkQueue")
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"id": f"cli-{i}"}))

    def dlq_depth() -> int:
        code, out, _ = run(capsys, "dlq", "list", "--json", *state)
        assert code == 0
        return {row["queue"]: row for row in json.loads(out)}["WorkDLQ"]["visible"]

    wait_until(lambda: dlq_depth() == 3, timeout_s=30, message="3 messages in WorkDLQ")
    code, out, _ = run(capsys, "dlq", "list", "--json", *state)
    rows = {row["queue"]: row for row in json.loads(out)}
    assert rows["WorkDLQ"]["sources"] == ["orderflow-WorkQueue"] and rows["WorkDLQ"]["oldest_age_s"] >= 0
    assert rows["StreamDLQ"]["sources"] == ["StreamFunction stream OnFailure"]
    assert rows["AsyncDLQ"]["sources"] == ["AsyncFunction async OnFailure"]

    code, out, _ = run(capsys, "dlq", "show", "WorkDLQ", "--json", "--limit", "10", *state)
    shown = json.loads(out)
    assert sorted(m["body"]["id"] for m in shown["messages"]) == ["cli-0", "cli-1", "cli-2"]
    assert all("maxReceiveCount=2" in m["reason"] for m in shown["messages"])

    code, out, err = run(capsys, "replay", "--from-dlq", "WorkDLQ", "--no-progress", *state)
    assert code == 1 and "replayed: 0  skipped: 0  failed: 3" in err  # still broken: nothing deleted
    assert dlq_depth() == 3

    code, out, err = run(capsys, "dlq", "redrive", "WorkDLQ", "--filter", "cli-1", "--dry-run", *state)
    assert code == 0 and "would redrive: 1" in err and "cli-1" in out and dlq_depth() == 3

    record_out = tmp_path / "recorded"
    recorder = threading.Thread(target=main, args=(["record", "--out", str(record_out), "--max", "1", "--duration", "30", *state],))
    recorder.start()
    wait_until(lambda: (up.parent / "record.json").exists(), message="recorder attached")
    ssm.put_parameter(Name=target.physical_id("SwitchParameter", "AWS::SSM::Parameter"), Value="on", Overwrite=True)
    code, out, err = run(capsys, "dlq", "redrive", "WorkDLQ", "--filter", "cli-1", *state)
    assert code == 0 and "redriven: 1" in err
    recorder.join(timeout=40)
    assert not recorder.is_alive() and not (up.parent / "record.json").exists()
    (recorded,) = eventfiles.discover(record_out)
    assert json.loads(eventfiles.load(recorded).event["Records"][0]["body"]) == {"id": "cli-1"}

    code, out, err = run(capsys, "replay", "--from-dlq", "WorkDLQ", "--no-progress", *state)
    assert code == 0 and re.search(r"^replayed: 2 .* failed: 0 ", err, re.M)
    code, out, err = run(capsys, "replay", "--from-dir", str(record_out), "--no-progress", *state)
    assert code == 0 and "replayed: 1" in err

    table = target.physical_id("ProcessedTable", "AWS::DynamoDB::Table")
    wait_until(lambda: dlq_depth() == 0 and len(dynamodb.scan(TableName=table)["Items"]) == 3, message="all processed")
    counts = {i["id"]["S"]: int(i["deliveries"]["N"]) for i in dynamodb.scan(TableName=table)["Items"]}
    assert counts == {"cli-0": 1, "cli-1": 2, "cli-2": 1}  # cli-1 once by redrive, once more by the recorded replay

    code, out, err = run(capsys, "dlq", "show", "NoSuchQueue", *state)
    assert code == 2 and "has no queue 'NoSuchQueue'" in err
