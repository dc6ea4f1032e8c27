"""The fork server: one process per runtime that imports the heavy shared libraries once and
forks every execution environment from itself.

A fresh interpreter per environment imports botocore, boto3, powertools and pydantic again:
0.3 s alone, 1.5-9 s at p50 when a burst of cold starts shares two cores. A child forked from
this process has them already; it then becomes the function's environment (variables, cwd,
`sys.path[0]`, log file, process group) and only then imports the handler module, which stays
the init Lambda reports as the cold start.

The server runs as a script (`python .../forkserver.py FD`), as bootstrap.py did before it:
the only module of the local cloud it imports is `bootstrap` (by file name, from this
directory), so that is all of the local cloud a handler's interpreter holds. It never starts a
thread (forking a threaded process can deadlock the child on a lock held by another thread)
and never creates a botocore session, so no endpoint, credential or region config exists before
the fork: the child's environment decides them.

Wire: a SOCK_SEQPACKET unix socket, one JSON message per packet. The runtime sends
`{"op": "spawn", "id", "env", "cwd"}` with three file descriptors attached (the environment's
request pipe, its reply pipe, its log file); the server answers `{"op": "spawned", "id", "pid"}`
(or `"spawn_failed"` with the error) and, whenever a child ends, `{"op": "exit", "pid", "code"}`
(Popen's returncode convention: negative for a signal), since only the server can reap them.
When the runtime's end closes, the server kills every environment it started and exits.

`ForkServer` is the runtime's side of that socket (it is imported by `environment.py`; the server
process itself never imports it from the package).
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

if __package__:  # imported by the runtime: the same file, as part of the package
    from localcloud.runtime import bootstrap
else:  # run as the server script: sys.path[0] is this directory
    import bootstrap  # type: ignore[import-not-found, no-redef]

log = logging.getLogger(__name__)

SERVER = Path(__file__).resolve()
# What the functions import first: loaded once here, shared copy-on-write by every environment.
PRELOAD = (
    "botocore.session",
    "botocore.client",
    "boto3",
    "boto3.session",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.utilities.typing",
    "aws_lambda_powertools.utilities.idempotency",
    "pydantic",
    "pydantic.main",  # `import pydantic` defers these until BaseModel or Field is first touched
    "pydantic.fields",
    "pydantic.types",
    "pydantic.functional_validators",
    "pydantic.type_adapter",
)
# botocore's data files a client reads (parsed JSON, no config): loaded once here, they make a
# child's first `boto3.client("sqs")` take ~30 ms instead of ~370 ms.
_BOTOCORE_DATA = ("endpoints", "partitions", "sdk-default-configuration", "_retry")
_BOTOCORE_MODELS = ("service-2", "endpoint-rule-set-1", "paginators-1", "waiters-2")
PRELOAD_SERVICES = ("dynamodb", "dynamodbstreams", "sqs", "sns", "s3", "lambda", "events", "sts")
_MAX_MESSAGE = 1 << 20  # a spawn request is the function's environment: a few KiB
_FDS_PER_SPAWN = 3
_DEATH_NOTICE_S = 5.0  # a server whose socket broke is seen gone by the reader well within this


# --- the server process ------------------------------------------------------------------


def preload() -> None:
    """Import the shared libraries, then freeze them so the collector never touches (and copies) their pages."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue  # a library the venv lacks is imported by no handler either
    bootstrap.count_aws_calls()
    _share_botocore_data()
    gc.freeze()


def _share_botocore_data() -> None:
    """Every botocore session gets one loader per data path, warmed here with the services' models.

    A loader holds only parsed data files (its cache), nothing of a session's configuration;
    each environment has its own copy-on-write copy of it, so sharing goes no further than
    the sessions of one environment.
    """
    try:
        import botocore.exceptions
        import botocore.loaders
        import botocore.session
    except ImportError:
        return
    loaders: dict[str | None, botocore.loaders.Loader] = {}
    create_loader = botocore.loaders.create_loader

    def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = create_loader(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared_loader  # type: ignore[attr-defined]
    loader = shared_loader(None)  # the server has no AWS_DATA_PATH: the default search path
    for name in _BOTOCORE_DATA:
        loader.load_data(name)
    for service in PRELOAD_SERVICES:
        for type_name in _BOTOCORE_MODELS:
            try:
                loader.load_service_model(service, type_name)
            except botocore.exceptions.DataNotFoundError:
                continue  # not every service has waiters or paginators


def serve(control: socket.socket) -> None:
    """Fork an environment per request and report every child's exit, until the runtime hangs up."""
    poller = select.poll()
    poller.register(control, select.POLLIN)
    children: dict[int, int] = {}  # pidfd -> pid: a pidfd becomes readable when its process ends
    while True:
        for fd, _ in poller.poll():
            if fd == control.fileno():
                message, fds, _, _ = socket.recv_fds(control, _MAX_MESSAGE, _FDS_PER_SPAWN)
                if not message:
                    _kill_all(children)
                    return
                reply = _spawn(control, json.loads(message), fds, children)
                if "pid" in reply:
                    pidfd = os.pidfd_open(reply["pid"])
                    children[pidfd] = reply["pid"]
                    poller.register(pidfd, select.POLLIN)
                _send(control, reply)
            else:
                poller.unregister(fd)
                pid = children.pop(fd)
                os.close(fd)
                code, cpu_s = _reap(pid)
                _send(control, {"op": "exit", "pid": pid, "code": code, "cpu_s": cpu_s})


def _spawn(control: socket.socket, request: dict[str, Any], fds: list[int], children: dict[int, int]) -> dict[str, Any]:
    try:
        if len(fds) != _FDS_PER_SPAWN:
            raise ValueError(f"expected {_FDS_PER_SPAWN} file descriptors, got {len(fds)}")
        if threading.active_count() != 1:
            raise RuntimeError("the fork server has started a thread: forking it could deadlock the child")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _run_child(control, request, fds, children)
        try:
            os.setpgid(pid, pid)  # the child does the same: whichever runs first, kill-by-group works at once
        except (PermissionError, ProcessLookupError):
            pass  # the child already did it (or already ended)
        return {"op": "spawned", "id": request["id"], "pid": pid}
    except Exception as exc:  # noqa: BLE001 - a failed spawn is reported, never the server's end
        return {"op": "spawn_failed", "id": request.get("id"), "error": f"{type(exc).__name__}: {exc}"}
    finally:
        for fd in fds:
            os.close(fd)


def _run_child(control: socket.socket, request: dict[str, Any], fds: list[int], children: dict[int, int]) -> None:
    """In the forked child: become the environment, then run the runtime interface; never returns."""
    code = 0
    try:
        fd_in, fd_out, log_fd = fds
        _leave_server(control, children)
        _own_process_group()
        _redirect_output(log_fd)
        _enter_function(request["env"], request["cwd"])
        bootstrap.main(fd_in, fd_out)
    except BaseException:  # noqa: BLE001 - whatever happens, the child must not return into the server loop
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def _leave_server(control: socket.socket, children: dict[int, int]) -> None:
    """Close what belongs to the server: its socket and its other children's pidfds."""
    control.close()
    for pidfd in children:
        os.close(pidfd)
    children.clear()


def _own_process_group() -> None:
    """So a kill on timeout reaches whatever the handler spawns."""
    os.setpgid(0, 0)


def _redirect_output(log_fd: int) -> None:
    """stdout and stderr go to the function's log file (stdin is the server's /dev/null)."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)


def _enter_function(env: dict[str, str], cwd: str) -> None:
    """Exactly the function's environment, cwd and `sys.path[0]` = its task root, as a fresh process had."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.path[0] = env["LAMBDA_TASK_ROOT"]
    sys.modules["__main__"] = sys.modules.pop("bootstrap")  # as when bootstrap.py was the script


def _reap(pid: int) -> tuple[int, float]:
    """The child's exit code, and the CPU seconds (user + system) it used in all: only its reaper can know
    what it spent after the last look at /proc, so the benchmark's CPU per function is exact."""
    _, status, usage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime


def _kill_all(children: dict[int, int]) -> None:
    for pidfd, pid in children.items():
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _reap(pid)
        os.close(pidfd)
    children.clear()


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    try:
        control.send(json.dumps(message).encode())
    except (BrokenPipeError, ConnectionResetError):
        pass  # the runtime is gone; the next recv ends the loop


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    preload()
    serve(control)


# --- the runtime's side --------------------------------------------------------------------


class ForkServerError(RuntimeError):
    """The fork server could not start an environment (it died, or the fork failed)."""


class ForkServer:
    """Starts the server process, asks it for environments and learns how they ended.

    Thread-safe. One reader thread dispatches the server's messages: spawn answers to the
    waiting caller, exit codes into a table that `wait` reads. If the server dies, every
    pending and later call says so at once (`ForkServerError`, `wait` returns None), and the
    next `spawn` starts a new server.
    """

    def __init__(self, env: dict[str, str], stderr: IO[bytes]) -> None:
        self._env = env
        self._stderr = stderr
        self._cond = threading.Condition()
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._exits: dict[int, int] = {}
        # Every environment ever started, for measurement: its function's name, and its CPU once it ended.
        self._functions: dict[int, str] = {}
        self._final_cpu_s: dict[int, float] = {}
        self._closed = False
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = subprocess.Popen(
                [sys.executable, str(SERVER), str(theirs.fileno())],
                env=self._env,
                cwd=str(SERVER.parent),
                stdin=subprocess.DEVNULL,
                stdout=self._stderr,
                stderr=self._stderr,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # no terminal's Ctrl-C reaches it or the environments
            )
        finally:
            theirs.close()
        self._socket = ours
        self._alive = True
        self._pids: set[int] = set()  # started by this server and not yet reported ended
        self._reader = threading.Thread(target=self._read, args=(ours,), name="forkserver-reader", daemon=True)
        self._reader.start()

    def spawn(self, env: dict[str, str], cwd: str, fd_in: int, fd_out: int, log_fd: int) -> int:
        """Fork an environment with these pipes and log file; its pid (also its process group).

        A server found dead (killed from outside, crashed) is replaced, and the request sent
        to the new one: environments already running go on, as their pipes are their own.
        """
        message = {"op": "spawn", "env": env, "cwd": cwd}
        with self._cond:
            reply = self._request(message, [fd_in, fd_out, log_fd])
            if reply is None:
                self._restart()
                reply = self._request(message, [fd_in, fd_out, log_fd])
        if reply is None:
            raise ForkServerError(
                f"the fork server exited ({self._process.poll()}) before starting the environment; see {self._stderr.name}"
            )
        if reply["op"] != "spawned":
            raise ForkServerError(f"the fork server could not start the environment: {reply['error']}")
        pid = int(reply["pid"])
        with self._cond:
            self._functions[pid] = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        return pid

    def processes(self) -> dict[int, tuple[str, float | None]]:
        """pid -> (function name, CPU seconds it used if it has ended) of every environment started."""
        with self._cond:
            return {pid: (name, self._final_cpu_s.get(pid)) for pid, name in self._functions.items()}

    def _request(self, message: dict[str, Any], fds: list[int]) -> dict[str, Any] | None:
        """Send one spawn request and wait for its answer; None if the server is (or goes) away (lock held)."""
        if self._closed:
            raise ForkServerError("the fork server is closed: the runtime is stopping")
        if not self._alive:
            return None
        self._next_id += 1
        request_id = self._next_id
        try:
            socket.send_fds(self._socket, [json.dumps({**message, "id": request_id}).encode()], fds)
        except (BrokenPipeError, ConnectionResetError):
            self._cond.wait_for(lambda: not self._alive, _DEATH_NOTICE_S)  # the reader sees the same end
            return None
        except OSError as exc:
            raise ForkServerError(f"could not send the spawn request to the fork server: {exc}") from None
        self._cond.wait_for(lambda: request_id in self._replies or not self._alive)
        return self._replies.pop(request_id, None)

    def wait(self, pid: int, timeout_s: float) -> int | None:
        """The exit code of an environment once it has ended; None if not known within `timeout_s`."""
        with self._cond:
            self._cond.wait_for(lambda: pid not in self._pids or not self._alive, timeout_s)
            return self._exits.pop(pid, None)

    def _restart(self) -> None:
        """Reap the dead server and start another (lock held; the old reader has finished)."""
        log.warning("the fork server exited (code %s); starting a new one", self._process.wait())
        self._reader.join()
        self._start()

    def _read(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(_MAX_MESSAGE)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self._cond:
                if message["op"] == "exit":
                    self._pids.discard(message["pid"])
                    self._exits[message["pid"]] = message["code"]
                    self._final_cpu_s[message["pid"]] = message["cpu_s"]
                elif message["op"] == "spawned":
                    self._pids.add(message["pid"])
                    self._replies[message["id"]] = message
                else:
                    self._replies[message["id"]] = message
                self._cond.notify_all()
        with self._cond:
            self._alive = False
            self._cond.notify_all()
        sock.close()

    def close(self, timeout_s: float = 3.0) -> None:
        """Hang up: the server kills every environment it started and exits; then reap it."""
        with self._cond:
            self._closed = True
        self._socket.shutdown(socket.SHUT_WR)
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout_s)


if __name__ == "__main__":
    main()
