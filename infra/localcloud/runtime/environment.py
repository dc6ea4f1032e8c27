"""One execution environment: an OS process, forked by the runtime's fork server, running
`bootstrap.main` for one function.

The parent talks to it over two private pipes; a deadline on every read is how the Lambda
timeout is enforced, and killing the whole process group is how an overrun environment is
reset (as Lambda does: the next invoke gets a fresh environment and a cold start).
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from localcloud.model import FunctionSpec
from localcloud.runtime import bootstrap
from localcloud.runtime.forkserver import ForkServer

RUNTIME_DIR = Path(bootstrap.__file__).resolve().parent
# Lambda gives a function 10 s to initialise before the first invocation; an init that takes
# longer is run again inside that invocation, under the function's own timeout.
INIT_TIMEOUT_S = 10.0
# Variables a process needs from the host to run at all; everything else comes from the function.
_HOST_VARS = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")
# How long an environment that was killed (or ended) may take to be reaped by the fork server.
_REAP_TIMEOUT_S = 5.0


def host_environment() -> dict[str, str]:
    env = {name: os.environ[name] for name in _HOST_VARS if name in os.environ}
    env.setdefault("LANG", "en_US.UTF-8")
    return env


def preload_environment() -> dict[str, str]:
    """The fork server's environment while it imports the shared libraries: the host's few variables
    and the Lambda variables every function has alike (powertools reads `AWS_EXECUTION_ENV` and
    `AWS_LAMBDA_INITIALIZATION_TYPE` at import). No endpoint, credential or region: those are the
    function's, set after the fork."""
    return host_environment() | {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.13", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}


def lambda_environment(spec: FunctionSpec, endpoint_env: dict[str, str], log_stream: str) -> dict[str, str]:
    """The environment Lambda gives a python3.13 function, then the endpoints, then the function's own
    variables (which win, as on AWS where reserved names cannot be set)."""
    env = host_environment()
    env.update(endpoint_env)
    env.update(spec.environment)
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_EXECUTION_ENV": "AWS_Lambda_" + (spec.runtime or "python3.13"),
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(Path(spec.code_dir).resolve()),
            "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "TZ": ":UTC",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def new_log_stream() -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{secrets.token_hex(16)}"


@dataclass(frozen=True)
class Reply:
    """The environment's answer to one request; `kind` is "result", "init_error", "timeout" or "exit"."""

    kind: str
    payload: str | None = None
    error: dict[str, Any] | None = None
    aws_calls: dict[str, int] | None = None
    init_ms: float | None = None


class ExecutionEnvironment:
    """A forked environment process. Not thread-safe: the pool hands it to one invoker at a time."""

    def __init__(self, spec: FunctionSpec, endpoint_env: dict[str, str], log_file: IO[bytes], forkserver: ForkServer) -> None:
        self.spec = spec
        self.log_stream = new_log_stream()
        self._forkserver = forkserver
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        env = lambda_environment(spec, endpoint_env, self.log_stream)
        # The init's clock starts with the fork: the child imports while the parent is still busy.
        self._spawned_at = time.monotonic()
        try:
            self._pid = forkserver.spawn(env, str(Path(spec.code_dir).resolve()), to_child_r, from_child_w, log_file.fileno())
        except BaseException:
            os.close(self._to_child)
            os.close(self._from_child)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.returncode: int | None = None
        self.alive = True
        self.last_used = time.monotonic()
        self.init_ms: float | None = None
        self.init_overrun_s = 0.0
        self.init_aws_calls: dict[str, int] = {}

    @property
    def pid(self) -> int:
        return self._pid

    def wait_ready(self, timeout_s: float) -> Reply:
        """Wait for the module import to finish: "ready" (with init_ms), "init_error" or "timeout".

        An init past Lambda's 10 s is not a failure on AWS (a "suppressed init"): Lambda runs it
        again within the first invocation, whose timeout then covers init and handler together.
        Here the init already running goes on rather than starting over, and `init_overrun_s`
        is the part of the invocation's timeout it used. A machine busy with a burst of cold
        starts (a benchmark on two cores) can take that long to import, where failing the
        invocation would hold its message back for a whole visibility timeout.
        """
        started = self._spawned_at
        reply = self._receive(started + INIT_TIMEOUT_S + timeout_s, timeout_s=timeout_s)
        self.init_overrun_s = max(0.0, time.monotonic() - started - INIT_TIMEOUT_S)
        if reply.kind == "ready":
            self.init_ms = reply.init_ms
            self.init_aws_calls = reply.aws_calls or {}
        else:
            self.kill()
        return reply

    def invoke(self, request: dict[str, Any], timeout_s: float, already_used_s: float = 0.0) -> Reply:
        """Run one request; `already_used_s` of `timeout_s` went to an init that overran."""
        deadline = time.monotonic() + timeout_s - already_used_s
        try:
            bootstrap.write_frame(self._to_child, request)
        except OSError:
            return Reply(kind="exit", error=self._exit_error(request["request_id"]))
        reply = self._receive(deadline, timeout_s=timeout_s, request_id=request["request_id"])
        self.last_used = time.monotonic()
        return reply

    def _receive(self, deadline: float, *, timeout_s: float, request_id: str = "") -> Reply:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([self._from_child], [], [], max(remaining, 0))
        if not ready:
            self.kill()
            message = f"Task timed out after {timeout_s:.2f} seconds"
            return Reply(kind="timeout", error={"errorType": "Sandbox.Timedout", "errorMessage": message, "stackTrace": []})
        frame = bootstrap.read_frame(self._from_child)
        if frame is None:
            return Reply(kind="exit", error=self._exit_error(request_id))
        kind = frame.pop("type")
        return Reply(
            kind=kind,
            payload=frame.get("payload"),
            error=frame.get("error"),
            aws_calls=frame.get("aws_calls"),
            init_ms=frame.get("init_ms"),
        )

    def _exit_error(self, request_id: str) -> dict[str, Any]:
        """The process ended by itself (sys.exit, a crash): reap it, then say how, as Lambda does."""
        self.returncode = self._forkserver.wait(self._pid, timeout_s=2)
        self.kill()  # if it closed its pipe but lingered, it is reset like a timeout
        code = self.returncode if self.returncode is not None else -signal.SIGKILL
        # Lambda's words are Go's for the signal ("signal: killed"), which are strsignal's, lowercased.
        status = f"signal: {(signal.strsignal(-code) or str(-code)).lower()}" if code < 0 else f"exit status {code}"
        message = f"RequestId: {request_id} Error: Runtime exited with error: {status}"
        return {"errorType": "Runtime.ExitError", "errorMessage": message, "stackTrace": []}

    def signal_kill(self) -> None:
        """Kill the process group without touching the pipes another thread may be reading."""
        try:
            os.killpg(self._pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Kill the process group and wait until the fork server has reaped it; idempotent."""
        if self.returncode is None:
            self.signal_kill()
            self.returncode = self._forkserver.wait(self._pid, _REAP_TIMEOUT_S)
            if self.returncode is None:  # the fork server is gone: nobody can tell its exit code
                self.returncode = -signal.SIGKILL
        if self.alive:
            self.alive = False
            os.close(self._to_child)
            os.close(self._from_child)
