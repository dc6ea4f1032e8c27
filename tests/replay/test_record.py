"""The recording observer writes replayable event files only while a `record` session is attached."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from localcloud.runtime.results import InvocationRecord, InvokeResult
from ordertools import eventfiles
from ordertools.record import CONTROL_FILE, RecordingObserver, Session, record


def invocation(function: str, n: int, source: str = "sqs:Mapping") -> InvocationRecord:
    event = {"Records": [{"messageId": f"m{n}", "body": f'{{"n": {n}}}', "eventSource": "aws:sqs"}]}
    result = InvokeResult(request_id=f"req-{n}", payload={"batchItemFailures": []})
    return InvocationRecord(function=function, source=source, event=event, result=result, started_at=time.time(), finished_at=time.time())


def start_session(state_dir: Path, out: Path, *, functions=frozenset(), max_events=None, pid=None) -> None:
    Session(out, frozenset(functions), max_events, pid or os.getpid(), time.time()).write(state_dir / CONTROL_FILE)


def test_idle_without_a_session_then_records_matching_functions(tmp_path):
    state_dir, out = tmp_path / ".orderflow", tmp_path / "rec"
    state_dir.mkdir()
    observer = RecordingObserver.beside(state_dir / "state.json")
    observer.on_invocation(invocation("CheckoutFunction", 0))
    assert not out.exists()

    start_session(state_dir, out, functions={"CheckoutFunction"})
    for n in range(1, 4):
        observer.on_invocation(invocation("CheckoutFunction", n))
    observer.on_invocation(invocation("EmailFunction", 9))
    (state_dir / CONTROL_FILE).unlink()
    observer.on_invocation(invocation("CheckoutFunction", 10))

    files = eventfiles.discover(out)
    assert [f.parent.name for f in files] == ["CheckoutFunction"] * 3
    loaded = [eventfiles.load(f) for f in files]
    assert [e.event["Records"][0]["messageId"] for e in loaded] == ["m1", "m2", "m3"]  # name order = recording order
    assert {e.function for e in loaded} == {"CheckoutFunction"}
    assert loaded[0].meta["source"] == "sqs:Mapping" and loaded[0].meta["request_id"] == "req-1"
    assert loaded[0].meta["outcome"]["payload"] == {"batchItemFailures": []}
    assert files[0].name.endswith("-sqs.json")


def test_max_events_and_dead_recorder_stop_recording(tmp_path):
    state_dir, out = tmp_path / ".orderflow", tmp_path / "rec"
    state_dir.mkdir()
    observer = RecordingObserver.beside(state_dir / "state.json")
    start_session(state_dir, out, max_events=2)
    threads = [threading.Thread(target=observer.on_invocation, args=(invocation("F", n),)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(eventfiles.discover(out)) == 2

    dead = out / "dead"
    start_session(state_dir, dead, pid=2**22 + 12345)  # no such process: a recorder killed without cleanup
    observer.on_invocation(invocation("F", 99))
    assert not dead.exists()


def test_record_attaches_until_max_then_detaches(tmp_path):
    state_file, out = tmp_path / ".orderflow" / "state.json", tmp_path / "rec"
    state_file.parent.mkdir()
    observer = RecordingObserver.beside(state_file)
    stop = threading.Event()

    def traffic():
        n = 0
        while not stop.is_set() and n < 500:
            observer.on_invocation(invocation("F", n))
            n += 1
            time.sleep(0.005)

    feeder = threading.Thread(target=traffic)
    feeder.start()
    try:
        written = record(state_file, out, max_events=5, duration_s=10, poll_s=0.02)
    finally:
        stop.set()
        feeder.join()
    assert written == 5
    assert len(eventfiles.discover(out)) == 5
    assert not (state_file.parent / CONTROL_FILE).exists()
