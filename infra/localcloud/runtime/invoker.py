"""The invoker: concurrency limits and a pool of execution environments per function.

Every invocation, whatever its source, goes through `Invoker.invoke`, so the limits and the
statistics hold for all of them at once:
- `reserved_concurrency` caps a function's concurrent invocations (0 throttles every call);
- `max_environments` caps environment processes over all functions (the laptop's stand-in for
  the account's concurrency limit): at the cap an idle environment of another function is
  evicted, or the invocation waits for one;
- at most `max_concurrent_inits` environments initialise at once (the machine's cores): a burst
  of cold starts queues for them instead of sharing two cores forty ways, so each init takes
  what one import takes rather than all of them together;
- environments are forked by one fork server (`forkserver.py`) that has the shared libraries
  imported already;
- idle environments are reused last-in first-out, as Lambda does, so a burst leaves the
  most recently used environments warm.
Direct and HTTP invokes are throttled at once when the function is at its reserved
concurrency (TooManyRequestsException); pollers and async workers wait instead, as Lambda's
own pollers back off rather than drop events.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from localcloud.model import DeployedStack, FunctionSpec
from localcloud.runtime.capacity import concurrent_inits, default_max_environments
from localcloud.runtime.environment import ExecutionEnvironment, Reply, preload_environment
from localcloud.runtime.forkserver import ForkServer, ForkServerError
from localcloud.runtime.results import InvocationRecord, InvokeResult, Observer

log = logging.getLogger(__name__)

THROTTLE_ERROR = {"errorType": "TooManyRequestsException", "errorMessage": "Rate Exceeded.", "stackTrace": []}
_WAIT_SLICE_S = 0.2  # how often a waiting invocation re-checks whether it should give up


class RuntimeStopped(Exception):
    """The runtime is stopping: the invocation was not run (its event is not consumed)."""


@dataclass
class _FunctionState:
    spec: FunctionSpec
    log_file: IO[bytes]
    idle: list[ExecutionEnvironment] = field(default_factory=list)
    busy: set[ExecutionEnvironment] = field(default_factory=set)
    environments: int = 0  # alive or being started
    in_flight: int = 0
    peak_in_flight: int = 0
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    timeouts: int = 0
    cold_starts: int = 0

    def stats(self) -> dict[str, int]:
        return {
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "invocations": self.invocations,
            "errors": self.errors,
            "throttles": self.throttles,
            "timeouts": self.timeouts,
            "cold_starts": self.cold_starts,
            "environments": self.environments,
        }


def trace_header() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class Invoker:
    def __init__(
        self,
        stack: DeployedStack,
        endpoint_env: dict[str, str],
        log_dir: Path,
        *,
        max_environments: int | None = None,
        max_concurrent_inits: int | None = None,
        observers: Sequence[Observer] = (),
    ) -> None:
        max_environments = default_max_environments() if max_environments is None else max_environments
        max_concurrent_inits = concurrent_inits() if max_concurrent_inits is None else max_concurrent_inits
        if max_environments < 1 or max_concurrent_inits < 1:
            raise ValueError("max_environments and max_concurrent_inits must be at least 1")
        self._stack = stack
        self._endpoint_env = endpoint_env
        self._max_environments = max_environments
        self._init_slots = threading.BoundedSemaphore(max_concurrent_inits)
        self._observers = tuple(observers)
        self._cond = threading.Condition()
        self._total_environments = 0
        self._closed = False
        log_dir.mkdir(parents=True, exist_ok=True)
        self._functions = {
            logical_id: _FunctionState(spec, (log_dir / f"{logical_id}.log").open("ab"))
            for logical_id, spec in stack.functions.items()
        }
        # Logical ids are alphanumeric, so this name is never a function's log.
        self._forkserver_log = (log_dir / "_forkserver.log").open("ab")
        self._forkserver = ForkServer(preload_environment(), self._forkserver_log)

    def spec(self, name: str) -> FunctionSpec:
        return self._stack.function(name)

    def wait_for_capacity(self, name: str, stop: threading.Event, timeout_s: float) -> bool:
        """Block until the function has spare reserved concurrency (or timeout/stop)."""
        state = self._functions[self.spec(name).logical_id]
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not self._under_reserved(state):
                remaining = deadline - time.monotonic()
                if self._closed or stop.is_set() or remaining <= 0:
                    return False
                self._cond.wait(min(remaining, _WAIT_SLICE_S))
            return True

    def invoke(
        self,
        name: str,
        event: Any,
        *,
        source: str,
        block: bool,
        stop: threading.Event | None = None,
        request_id: str | None = None,
    ) -> InvokeResult:
        """Run one invocation. With `block`, wait for concurrency instead of throttling;
        raises RuntimeStopped if the runtime (or `stop`) ends the wait."""
        spec = self.spec(name)
        state = self._functions[spec.logical_id]
        request_id = request_id or str(uuid.uuid4())
        started_at = time.time()
        if not self._enter(state, block, stop):
            result = InvokeResult(request_id=request_id, error=dict(THROTTLE_ERROR), throttled=True)
        else:
            try:
                result = self._run(state, request_id, event, stop)
            finally:
                with self._cond:
                    state.in_flight -= 1
                    self._cond.notify_all()
        self._notify(InvocationRecord(spec.logical_id, source, event, result, started_at, time.time()))
        return result

    def _under_reserved(self, state: _FunctionState) -> bool:
        reserved = state.spec.reserved_concurrency
        return reserved is None or state.in_flight < reserved

    def _enter(self, state: _FunctionState, block: bool, stop: threading.Event | None) -> bool:
        with self._cond:
            counted = False
            while not self._under_reserved(state):
                if not counted:
                    state.throttles += 1
                    counted = True
                if not block:
                    return False
                self._raise_if_stopping(stop)
                self._cond.wait(_WAIT_SLICE_S)
            self._raise_if_stopping(stop)
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            return True

    def _raise_if_stopping(self, stop: threading.Event | None) -> None:
        if self._closed or (stop is not None and stop.is_set()):
            raise RuntimeStopped

    def _run(self, state: _FunctionState, request_id: str, event: Any, stop: threading.Event | None) -> InvokeResult:
        env, cold, init_reply = self._checkout(state, stop)
        if init_reply is not None:  # the import failed, or outlasted init and timeout: the invocation fails
            with self._cond:
                state.invocations += 1
                state.errors += 1
            return InvokeResult(request_id=request_id, error=init_reply.error, cold_start=True)
        used_by_init_s = env.init_overrun_s if cold else 0.0
        request = {
            "request_id": request_id,
            "event": event,
            "deadline_ms": int(time.time() * 1000 + (state.spec.timeout_s - used_by_init_s) * 1000),
            "trace_id": trace_header(),
            "invoked_function_arn": state.spec.arn,
        }
        started = time.perf_counter()
        reply = env.invoke(request, float(state.spec.timeout_s), used_by_init_s)
        duration_ms = (time.perf_counter() - started) * 1000
        self._checkin(state, env)
        aws_calls = dict(env.init_aws_calls) if cold else {}
        for key, count in (reply.aws_calls or {}).items():
            aws_calls[key] = aws_calls.get(key, 0) + count
        result = InvokeResult(
            request_id=request_id,
            payload=_decode(reply),
            error=reply.error,
            timed_out=reply.kind == "timeout",
            duration_ms=duration_ms,
            cold_start=cold,
            aws_calls=aws_calls,
            init_duration_ms=env.init_ms if cold else None,
        )
        with self._cond:
            state.invocations += 1
            state.errors += result.error is not None
            state.timeouts += result.timed_out
        return result

    def _checkout(
        self, state: _FunctionState, stop: threading.Event | None
    ) -> tuple[ExecutionEnvironment, bool, Reply | None]:
        """A warm idle environment, else a new one (evicting another function's idle one at the cap)."""
        victim: ExecutionEnvironment | None = None
        with self._cond:
            while True:
                self._raise_if_stopping(stop)
                if state.idle:
                    env = state.idle.pop()
                    state.busy.add(env)
                    return env, False, None
                if self._total_environments < self._max_environments:
                    self._total_environments += 1
                    break
                victim = self._evict_idle()
                if victim is not None:
                    break
                self._cond.wait(_WAIT_SLICE_S)
            state.environments += 1
            state.cold_starts += 1
        if victim is not None:
            victim.kill()
        try:
            self._acquire_init_slot(stop)
        except BaseException:
            self._forget(state)
            raise
        try:
            return self._start_environment(state)
        finally:
            self._init_slots.release()

    def _acquire_init_slot(self, stop: threading.Event | None) -> None:
        """Wait for one of the `max_concurrent_inits` slots; raises RuntimeStopped if stopped meanwhile."""
        while not self._init_slots.acquire(timeout=_WAIT_SLICE_S):
            self._raise_if_stopping(stop)
        try:
            self._raise_if_stopping(stop)
        except RuntimeStopped:
            self._init_slots.release()
            raise

    def _start_environment(self, state: _FunctionState) -> tuple[ExecutionEnvironment, bool, Reply | None]:
        """Fork a new environment of the function and wait for its init (a slot for it is held)."""
        try:
            env = ExecutionEnvironment(state.spec, self._endpoint_env, state.log_file, self._forkserver)
        except BaseException as exc:
            self._forget(state)
            if isinstance(exc, ForkServerError) and self._closed:
                raise RuntimeStopped from None  # stop() closed the fork server while we asked it
            raise
        with self._cond:
            state.busy.add(env)
            if self._closed:  # stop() ran while we were spawning: it could not see this process
                env.signal_kill()
        reply = env.wait_ready(float(state.spec.timeout_s))
        if reply.kind != "ready":
            with self._cond:
                state.busy.discard(env)
            self._forget(state)
            return env, True, reply
        return env, True, None

    def _evict_idle(self) -> ExecutionEnvironment | None:
        """Take the least recently used idle environment of any function (caller holds the lock)."""
        candidates = [(env.last_used, name) for name, st in self._functions.items() for env in st.idle[:1]]
        if not candidates:
            return None
        _, name = min(candidates)
        owner = self._functions[name]
        env = owner.idle.pop(0)
        owner.environments -= 1
        return env

    def _forget(self, state: _FunctionState) -> None:
        with self._cond:
            state.environments -= 1
            self._total_environments -= 1
            self._cond.notify_all()

    def _checkin(self, state: _FunctionState, env: ExecutionEnvironment) -> None:
        with self._cond:
            state.busy.discard(env)
            if env.alive and not self._closed:
                state.idle.append(env)
                self._cond.notify_all()
                return
        env.kill()
        self._forget(state)

    def _notify(self, record: InvocationRecord) -> None:
        for observer in self._observers:
            try:
                observer.on_invocation(record)
            except Exception:  # noqa: BLE001 - an observer must never break delivery
                log.exception("observer %r failed", observer)

    def stats(self) -> dict[str, dict[str, int]]:
        with self._cond:
            return {name: state.stats() for name, state in self._functions.items()}

    def environment_processes(self) -> dict[int, tuple[str, float | None]]:
        """pid -> (function name, final CPU seconds once ended) of every environment started so far."""
        return self._forkserver.processes()

    def close(self) -> None:
        """Kill every environment. Busy ones are signalled; their invoking threads see the exit."""
        with self._cond:
            self._closed = True
            idle = [env for st in self._functions.values() for env in st.idle]
            busy = [env for st in self._functions.values() for env in st.busy]
            for st in self._functions.values():
                st.idle.clear()
            self._cond.notify_all()
        for env in idle:
            env.kill()
        for env in busy:
            env.signal_kill()
        with self._cond:
            for st in self._functions.values():
                st.environments -= sum(1 for env in idle if env.spec.logical_id == st.spec.logical_id)
            self._total_environments -= len(idle)
        self._forkserver.close()  # it kills what is left of the busy ones and exits

    def close_logs(self) -> None:
        for state in self._functions.values():
            state.log_file.close()
        self._forkserver_log.close()


def _decode(reply: Reply) -> Any:
    return None if reply.payload is None else json.loads(reply.payload)
