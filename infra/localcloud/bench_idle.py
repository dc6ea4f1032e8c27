"""Idle cost of `orderflow up`: CPU of its whole process tree (emulator, environments, pollers) over a quiet window.

    python -m localcloud.bench_idle --template template.yaml --seconds 60 --out .orderflow/idle.json

Starts `orderflow up` on a free port, waits for its `ready` line and a settling period, then reads
utime + stime of every process in the tree (from /proc) at the start and the end of the window,
prints CPU seconds per process name and the total as a percentage of one core, writes them as
JSON to `--out`, and stops the cloud (SIGTERM, then SIGKILL). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, str] | None:
    """(parent pid, CPU seconds, name) of a live process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    name = " ".join(part.decode(errors="replace") for part in cmdline[:3] if part)[-80:]
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS, name


def tree_cpu(root: int) -> dict[int, tuple[str, float]]:
    """CPU seconds of `root` and every descendant, by pid."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p))) is not None}
    wanted, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, _) in stats.items():
            if ppid == parent and pid not in wanted:
                wanted.add(pid)
                frontier.append(pid)
    return {pid: (stats[pid][2], stats[pid][1]) for pid in wanted if pid in stats}


def measure(template: Path, seconds: float, settle_s: float) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    state = template.parent / ".orderflow" / "bench-idle-state.json"
    command = [sys.executable, "-m", "localcloud.cli", "up", "--template", str(template), "--port", "0",
               "--stack-name", "benchidle", "--state-file", str(state)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            if line.startswith("ready "):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("orderflow up did not print ready within 120 s")
        else:
            raise RuntimeError(f"orderflow up ended before it was ready (exit {proc.wait()})")
        time.sleep(settle_s)
        before = tree_cpu(proc.pid)
        started = time.monotonic()
        time.sleep(seconds)
        after = tree_cpu(proc.pid)
        elapsed = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    by_process: dict[str, float] = {}
    for pid, (name, cpu) in after.items():
        by_process[name] = by_process.get(name, 0.0) + cpu - before.get(pid, (name, 0.0))[1]
    total = sum(by_process.values())
    return {
        "seconds": round(elapsed, 1),
        "cpu_s": round(total, 2),
        "percent_of_one_core": round(100 * total / elapsed, 2),
        "by_process": {name: round(cpu, 2) for name, cpu in sorted(by_process.items(), key=lambda kv: -kv[1])},
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=Path("template.yaml"))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after ready before measuring")
    parser.add_argument("--out", type=Path, default=Path(".orderflow/idle.json"))
    args = parser.parse_args(argv)
    figures = measure(args.template.resolve(), args.seconds, args.settle)
    print(json.dumps(figures, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
