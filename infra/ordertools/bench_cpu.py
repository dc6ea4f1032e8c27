"""CPU seconds by process for `orderflow bench`: the emulator child, each function's environments, the runtime.

The cloud's process tree is read from /proc every `interval_s` (Linux): for every descendant of this
process, its cumulative user + system time, keeping the last value seen per process (keyed by pid and
start time, so a reused pid is another process). Execution environments are the fork server's children:
the runtime reports each one's function and, once it has ended, the CPU its reaper measured
(`Runtime.environment_processes`), so an environment counts exactly, even one that lived and ended
between two samples. For this process's own children (the emulator, the fork server),
`CpuSampler.reaped_unsampled_s` measures what sampling missed: the kernel's resource usage of reaped
children (`os.times()`) over a window, minus the last sampled values of those that ended in it.

A process is named by what it runs: an execution environment by its function (its logical id), the
embedded moto by its script, anything else by its command.
This process itself is "runtime" (pollers, gateway, payment sandbox, the invoking threads); the
benchmark's own load and polling threads measure their thread CPU time and are subtracted from it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

_PROC = Path("/proc")
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
RUNTIME = "runtime"
EMULATOR = "emulator"


@dataclass(frozen=True)
class ProcessCpu:
    pid: int
    ppid: int
    start_ticks: int
    cpu_s: float  # user + system, this process only (not its reaped children)


def _read_stat(pid: int) -> ProcessCpu | None:
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    # man proc(5): field 4 ppid, 14 utime, 15 stime, 22 starttime; `fields` starts at field 3.
    return ProcessCpu(pid, int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) * _TICK_S)


def descendants(root: int) -> list[ProcessCpu]:
    """Every live process below `root`, from one pass over /proc."""
    by_parent: dict[int, list[ProcessCpu]] = {}
    for entry in _PROC.iterdir():
        if entry.name.isdigit() and (stat := _read_stat(int(entry.name))) is not None:
            by_parent.setdefault(stat.ppid, []).append(stat)
    found, frontier = [], [root]
    while frontier:
        children = by_parent.get(frontier.pop(), [])
        found.extend(children)
        frontier.extend(c.pid for c in children)
    return found


def process_name(pid: int, functions: Mapping[str, str]) -> str:
    """The function's logical id for an execution environment, EMULATOR for the moto child, else the command."""
    try:
        environ = (_PROC / str(pid) / "environ").read_bytes().split(b"\0")
        cmdline = (_PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "unknown"
    for variable in environ:
        if variable.startswith(b"AWS_LAMBDA_FUNCTION_NAME="):
            name = variable.partition(b"=")[2].decode()
            return functions.get(name, name)
    if any(arg.endswith(b"moto_process.py") for arg in cmdline):
        return EMULATOR
    return " ".join(arg.decode(errors="replace") for arg in cmdline[:2]).strip() or "unknown"


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def reaped_children_cpu_s() -> float:
    times = os.times()
    return times.children_user + times.children_system


@dataclass(frozen=True)
class Snapshot:
    """Cumulative CPU seconds per process name at one moment (ended processes keep their last value)."""

    at: float  # time.time()
    by_name: dict[str, float]

    @property
    def total_s(self) -> float:
        return sum(self.by_name.values())

    def minus(self, earlier: Snapshot) -> dict[str, float]:
        return {name: cpu - earlier.by_name.get(name, 0.0) for name, cpu in self.by_name.items()}


@dataclass
class _Tracked:
    name: str
    cpu_s: float
    alive: bool = True


@dataclass
class CpuSampler:
    """Samples the process tree on a thread; `snapshot()` takes one at once (e.g. at a phase boundary).

    `functions` maps a function's physical name (its `AWS_LAMBDA_FUNCTION_NAME`) to its logical id;
    `environments` is `Runtime.environment_processes` (pid -> function name, final CPU once ended).
    `subtract_s()` is this process's CPU that is not the runtime's (the benchmark's own clients).
    """

    functions: Mapping[str, str]
    environments: Callable[[], Mapping[int, tuple[str, float | None]]] = dict
    interval_s: float = 0.5
    series: list[Snapshot] = field(default_factory=list)
    _tracked: dict[tuple[int, int], _Tracked] = field(default_factory=dict)
    _ended_in_window: list[_Tracked] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _subtract_s: float = 0.0
    _window_reaped_at_start: float = 0.0
    _sampler_cpu_s: float = 0.0
    _own_name: str = field(default_factory=lambda: process_name(os.getpid(), {}))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="bench-cpu-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.snapshot(record=True)

    def add_not_runtime(self, cpu_s: float) -> None:
        """CPU of this process spent by the benchmark itself (its HTTP clients, its settle polling)."""
        with self._lock:
            self._subtract_s += cpu_s

    def snapshot(self, record: bool = False) -> Snapshot:
        me = os.getpid()
        environments = self.environments()
        with self._lock:
            seen = set()
            for process in descendants(me):
                key = (process.pid, process.start_ticks)
                seen.add(key)
                tracked = self._tracked.get(key)
                if tracked is None:
                    self._tracked[key] = _Tracked(self._name(process.pid, environments), process.cpu_s)
                    continue
                tracked.cpu_s = process.cpu_s
                if tracked.name == self._own_name:  # seen between fork and exec: name it by what it runs now
                    tracked.name = self._name(process.pid, environments)
            tracked_pids = {pid for pid, _ in self._tracked}
            for key, tracked in self._tracked.items():
                final_cpu_s = environments.get(key[0], ("", None))[1]
                if final_cpu_s is not None:  # an ended environment: its reaper's figure is exact
                    tracked.cpu_s, tracked.alive = final_cpu_s, False
                elif tracked.alive and key not in seen:
                    tracked.alive = False
                    self._ended_in_window.append(tracked)
            for pid, (name, final_cpu_s) in environments.items():
                if final_cpu_s is not None and pid not in tracked_pids:  # lived and ended between two samples
                    self._tracked[(pid, -1)] = _Tracked(self.functions.get(name, name), final_cpu_s, alive=False)
            if threading.current_thread() is self._thread:
                self._sampler_cpu_s = time.thread_time()
            by_name: dict[str, float] = {RUNTIME: own_cpu_s() - self._subtract_s - self._sampler_cpu_s}
            for tracked in self._tracked.values():
                by_name[tracked.name] = by_name.get(tracked.name, 0.0) + tracked.cpu_s
            snapshot = Snapshot(time.time(), by_name)
            if record:
                self.series.append(snapshot)
            return snapshot

    def _name(self, pid: int, environments: Mapping[int, tuple[str, float | None]]) -> str:
        if pid in environments:
            name = environments[pid][0]
            return self.functions.get(name, name)
        return process_name(pid, self.functions)

    def open_window(self) -> None:
        """Start counting what sampling misses: processes that end from now on."""
        with self._lock:
            self._ended_in_window = []
            self._window_reaped_at_start = reaped_children_cpu_s()

    def reaped_unsampled_s(self) -> float:
        """Since `open_window`: CPU the kernel reports for reaped children minus their last sampled values.

        Exact for direct children reaped in the window (the emulator, the fork server); a process that
        ended but was not reaped yet is not in either term.
        """
        with self._lock:
            reaped = reaped_children_cpu_s() - self._window_reaped_at_start
            return max(0.0, reaped - sum(t.cpu_s for t in self._ended_in_window))

    def ended_in_window(self) -> int:
        with self._lock:
            return len(self._ended_in_window)

    @property
    def sampler_cpu_s(self) -> float:
        """The sampling thread's own CPU (left out of the runtime's figure)."""
        return self._sampler_cpu_s

    @property
    def not_runtime_s(self) -> float:
        return self._subtract_s


def cpu_at(series: list[Snapshot], moment: float) -> float:
    """Total cumulative CPU at `moment`, linearly between the samples around it."""
    if not series:
        return 0.0
    if moment <= series[0].at:
        return series[0].total_s
    for before, after in zip(series, series[1:], strict=False):
        if before.at <= moment <= after.at:
            share = (moment - before.at) / (after.at - before.at) if after.at > before.at else 1.0
            return before.total_s + share * (after.total_s - before.total_s)
    return series[-1].total_s


def per_tenth(series: list[Snapshot], started_at: float, settle_times: list[float]) -> list[dict[str, float | int]]:
    """CPU per order for each tenth of the orders, cut where the tenth's last order settled.

    The first tenth starts when the load does (the series' first sample), so it carries the cold starts; a
    tenth's CPU is the whole tree's between its cuts, divided by the orders that settled in it.
    """
    ordered = sorted(settle_times)
    if not ordered:
        return []
    tenths = []
    previous_cut, previous_rank = started_at, 0
    for tenth in range(1, 11):
        rank = max(previous_rank, round(len(ordered) * tenth / 10))
        if rank == previous_rank:
            continue
        cut = ordered[rank - 1]
        orders = rank - previous_rank
        cpu_s = cpu_at(series, cut) - cpu_at(series, previous_cut)
        tenths.append(
            {"tenth": tenth, "orders": orders, "wall_s": round(cut - previous_cut, 2), "cpu_ms_per_order": round(cpu_s * 1000.0 / orders, 1)}
        )
        previous_cut, previous_rank = cut, rank
    return tenths


def _ms_per_order(seconds: Mapping[str, float], orders: int) -> dict[str, float]:
    return {name: round(cpu * 1000.0 / orders, 1) for name, cpu in sorted(seconds.items(), key=lambda kv: -kv[1])}


def summarise_cpu(
    *,
    idle: tuple[Snapshot, Snapshot],
    load: tuple[Snapshot, Snapshot],
    sampler: CpuSampler,
    unsampled_s: float,
    orders: int,
    settle_times: list[float],
    settled_per_s: float | None,
    cores: int,
) -> dict[str, object]:
    """The `cpu` section of bench.json: idle share, CPU per order by process and per tenth, the CPU bound."""
    idle_wall = idle[1].at - idle[0].at
    idle_by = idle[1].minus(idle[0])
    load_by = {name: cpu for name, cpu in load[1].minus(load[0]).items() if cpu > 0}
    total_s = sum(load_by.values()) + unsampled_s
    per_order_s = total_s / orders if orders else None
    bound = cores / per_order_s if per_order_s else None
    return {
        "idle": {
            "seconds": round(idle_wall, 2),
            "share_of_one_core": round(sum(idle_by.values()) / idle_wall, 4) if idle_wall > 0 else None,
            "by_process_share": {n: round(c / idle_wall, 4) for n, c in sorted(idle_by.items()) if c > 0} if idle_wall > 0 else {},
        },
        "load": {
            "wall_s": round(load[1].at - load[0].at, 2),
            "total_s": round(total_s, 2),
            "by_process_s": {n: round(c, 2) for n, c in sorted(load_by.items(), key=lambda kv: -kv[1])},
            "reaped_unsampled_s": round(unsampled_s, 3),
            "processes_ended": sampler.ended_in_window(),
            "bench_clients_s": round(sampler.not_runtime_s, 2),
            "sampler_s": round(sampler.sampler_cpu_s, 3),
            "samples": len(sampler.series),
        },
        "per_order_ms": round(per_order_s * 1000.0, 1) if per_order_s else None,
        "by_process_per_order_ms": _ms_per_order(load_by, orders) if orders else {},
        "per_tenth": per_tenth(sampler.series, load[0].at, settle_times),
        "bound": {
            "cores": cores,
            "orders_per_s": round(bound, 2) if bound else None,
            "utilisation": round(settled_per_s / bound, 3) if bound and settled_per_s else None,
        },
    }
