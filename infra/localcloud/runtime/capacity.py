"""How many execution environments this machine holds, and how many it can start at once.

An environment is a process forked from the fork server: what it costs is the memory its
handler's init and invocations touch (pages it writes are copied from the server), measured
as `ENVIRONMENT_BYTES`. Starting one costs CPU: an init is an import, so more concurrent
inits than cores only makes every one of them slower.
"""

from __future__ import annotations

import os

# Memory of one environment of the project's handlers, measured during `orderflow bench --orders 40`:
# PSS 30 MiB at the median (private dirty 27 MiB) forked, against 52 MiB for a fresh interpreter.
# See docs/local-cloud.md, "Measured on this machine".
ENVIRONMENT_BYTES = 32 * 1024 * 1024
# Half of the memory free at start-up is left to the emulator, the tests and everything else.
_MEMORY_SHARE = 0.5
_MIN_ENVIRONMENTS = 2
_MAX_ENVIRONMENTS_PER_CORE = 16


def cores() -> int:
    """The cores this process may run on (its affinity, which a container or taskset narrows)."""
    return len(os.sched_getaffinity(0))


def available_memory_bytes() -> int:
    """MemAvailable (what can be used without swapping), or free pages where /proc has no meminfo."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def default_max_environments() -> int:
    """Environments that fit in half the free memory, at least 2, at most 16 per core."""
    by_memory = int(available_memory_bytes() * _MEMORY_SHARE // ENVIRONMENT_BYTES)
    return max(_MIN_ENVIRONMENTS, min(by_memory, _MAX_ENVIRONMENTS_PER_CORE * cores()))


def concurrent_inits() -> int:
    """Inits (handler imports) run at once: one per core."""
    return cores()
