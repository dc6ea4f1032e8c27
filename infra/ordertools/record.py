"""`orderflow record`: capture the events flowing into a running local cloud's functions as event files.

`orderflow up` runs the functions in another process, so the capture happens there: `up`
installs a `RecordingObserver` (the runtime tells it about every invocation) that stays idle
until a `record.json` control file appears beside the state file. `orderflow record` writes that
file, which attaches it to the running cloud without a restart, waits (Ctrl-C, `--duration`
or `--max`), then removes it. Each captured event is written as a plain event file plus its
`.meta.json` sidecar (see `ordertools.eventfiles`), ready for `replay --from-dir`,
`orderflow invoke --event` and `sam local invoke -e`.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ordertools import eventfiles
from ordertools.targets import DEFAULT_STATE_FILE, TargetError, from_state_file, process_alive

CONTROL_FILE = "record.json"


@dataclass(frozen=True)
class Session:
    """What the control file asks for; `started` tells one session from the next."""

    out: Path
    functions: frozenset[str]
    max_events: int | None
    recorder_pid: int | None
    started: float

    @classmethod
    def read(cls, path: Path) -> Session | None:
        try:
            doc = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return cls(Path(doc["out"]), frozenset(doc.get("functions") or ()), doc.get("max"), doc.get("pid"), doc["started"])

    def write(self, path: Path) -> None:
        doc = {"out": str(self.out), "functions": sorted(self.functions), "max": self.max_events, "pid": self.recorder_pid,
               "started": self.started}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(path)  # the observer never reads a half-written file


class RecordingObserver:
    """A runtime observer that writes each invocation's event while a recording session is on.

    Idle cost is one `stat` of the control file per invocation. A session whose recorder process
    died (killed without cleanup) is ignored, so a stale control file never records forever.
    """

    def __init__(self, control_file: Path):
        self._control = control_file
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._mtime = 0.0
        self._count = 0

    @classmethod
    def beside(cls, state_file: Path = DEFAULT_STATE_FILE) -> RecordingObserver:
        """The observer `orderflow up` installs: controlled by `record.json` next to its state file."""
        return cls(state_file.parent / CONTROL_FILE)

    def on_invocation(self, record: Any) -> None:
        session = self._current()
        if session is None or (session.functions and record.function not in session.functions):
            return
        with self._lock:
            if session.max_events is not None and self._count >= session.max_events:
                return
            self._count += 1
            sequence = self._count
        result = record.result
        started = datetime.fromtimestamp(record.started_at, UTC)
        kind = record.source.split(":", 1)[0]
        name = f"{started:%Y%m%dT%H%M%S%f}-{sequence:06d}-{kind}.json"
        meta = {
            "source": record.source,
            "recorded_at": started.isoformat(),
            "request_id": result.request_id,
            "outcome": {"payload": result.payload, "error": result.error, "timed_out": result.timed_out},
        }
        eventfiles.write(session.out / record.function / name, record.function, record.event, meta)

    def _current(self) -> Session | None:
        try:
            mtime = self._control.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            if mtime != self._mtime:
                self._mtime = mtime
                self._session = Session.read(self._control)
                self._count = 0
            session = self._session
        if session is None or (session.recorder_pid and not process_alive(session.recorder_pid)):
            return None
        return session


def record(
    state_file: Path,
    out: Path,
    *,
    functions: frozenset[str] = frozenset(),
    max_events: int | None = None,
    duration_s: float | None = None,
    poll_s: float = 0.2,
) -> int:
    """Attach to the running cloud until `max_events`, `duration_s` or Ctrl-C; returns the events written."""
    out = out.resolve()
    control = state_file.parent / CONTROL_FILE
    if control.exists() and (existing := Session.read(control)) and existing.recorder_pid and process_alive(existing.recorder_pid):
        raise TargetError(f"another `orderflow record` (pid {existing.recorder_pid}) is attached; stop it first")
    before = _count(out)
    Session(out, functions, max_events, os.getpid(), time.time()).write(control)
    deadline = time.monotonic() + duration_s if duration_s is not None else None
    try:
        while deadline is None or time.monotonic() < deadline:
            if max_events is not None and _count(out) - before >= max_events:
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        pass
    finally:
        control.unlink(missing_ok=True)
    return _count(out) - before


def _count(out: Path) -> int:
    return sum(1 for p in out.rglob("*" + eventfiles.META_SUFFIX)) if out.exists() else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("record", help="capture the events reaching the running local cloud's functions as event files")
    parser.add_argument("--out", type=Path, default=Path("events/recorded"), help="folder for event files (default events/recorded)")
    parser.add_argument("--function", action="append", default=[], help="only this function (logical id or name); repeatable")
    parser.add_argument("--max", type=int, help="stop after N events")
    parser.add_argument("--duration", type=float, help="stop after S seconds")
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE, help="the running local cloud's state file")
    parser.set_defaults(handler=_cmd_record)


def _cmd_record(args: argparse.Namespace) -> int:
    target = from_state_file(args.state_file)
    functions = frozenset(target.function_logical_id(f) for f in args.function)
    print(f"recording into {args.out} (Ctrl-C to stop)", flush=True)
    written = record(args.state_file, args.out, functions=functions, max_events=args.max, duration_s=args.duration)
    print(f"recorded {written} events into {args.out}")
    return 0
