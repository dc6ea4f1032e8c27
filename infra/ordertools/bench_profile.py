"""Where the time goes: a py-spy raw profile of `orderflow bench`, summed per process kind.

    py-spy record --subprocesses --nonblocking -f raw -o .orderflow/profile.raw -- .venv/bin/orderflow bench --orders 80
    python -m ordertools.bench_profile .orderflow/profile.raw      # (make bench-profile does both)

py-spy's raw format is one line per distinct stack, `frame;frame;...;frame COUNT`, root first; with
--subprocesses the stack starts with one `process PID:"command line"` frame per ancestor, the last
one the process sampled (and `thread` frames with --threads). Execution
environments all run bootstrap.py, so they are told apart by the module of the `lambda_handler`
frame in their stack (`handlers.api` -> ApiFunction's environments); an environment's stack without one is its runtime
loop waiting or its init. Per kind: samples, and the frames with the most samples of their own
(the leaf: where the CPU was, not who called it), and those with the most samples under them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

_PROCESS = re.compile(r'^process \d+:"(?P<command>.*)"$')
# py-spy names a file relative to the sys.path entry it came from: `(handlers/api.py:272)` or `(api.py:272)`.
_HANDLER = re.compile(r"^lambda_handler \((?:.*/)?(?P<module>\w+)\.py:\d+\)$")
TOP = 12


def process_kind(frames: list[str]) -> str:
    """moto, orderflow (the runtime's process) or `environment handlers.<module>`, from the last process frame and the stack."""
    processes = [m.group("command") for f in frames if (m := _PROCESS.match(f))]
    command = processes[-1] if processes else ""
    if "moto_process.py" in command:
        return "emulator (moto)"
    if "bootstrap.py" in command:
        handler = next((m.group("module") for f in frames if (m := _HANDLER.search(f))), None)
        return f"environment handlers.{handler}" if handler else "environment (no handler on the stack: init, waiting)"
    return "runtime (orderflow)" if "orderflow" in command else (command[:60] or "unknown")


def _short(frame: str) -> str:
    """`name (path/to/file.py:12)` -> `name (file.py)`: lines differ within one function."""
    return re.sub(r"\((?:.*/)?([^/:()]+):\d+\)$", r"(\1)", frame)


def summarise(lines: list[str]) -> dict[str, dict[str, Counter[str]]]:
    kinds: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: {"self": Counter(), "total": Counter(), "samples": Counter()})
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        kind = kinds[process_kind(frames)]
        kind["samples"]["all"] += count
        body = [_short(f) for f in frames if not _PROCESS.match(f) and not f.startswith("thread ")] or ["(no python frame)"]
        kind["self"][body[-1]] += count
        for frame in set(body):
            kind["total"][frame] += count
    return kinds


def report(kinds: dict[str, dict[str, Counter[str]]], top: int = TOP) -> str:
    everything = sum(k["samples"]["all"] for k in kinds.values()) or 1
    lines = []
    for name, kind in sorted(kinds.items(), key=lambda kv: -kv[1]["samples"]["all"]):
        samples = kind["samples"]["all"]
        lines += ["", f"== {name}: {samples} samples ({100 * samples / everything:.1f} % of all)", "  self (leaf frames):"]
        lines += [f"    {100 * n / samples:5.1f} %  {frame}" for frame, n in kind["self"].most_common(top)]
        lines += ["  total (frames with their callees):"]
        lines += [f"    {100 * n / samples:5.1f} %  {frame}" for frame, n in kind["total"].most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ordertools.bench_profile", description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=TOP)
    args = parser.parse_args(argv)
    print(report(summarise(args.raw.read_text().splitlines()), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
