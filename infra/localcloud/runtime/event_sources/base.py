"""What every event source shares: worker threads started and stopped together, backoff, and a
stop that ends a long poll at once.

Lambda's pollers wait on the service (SQS long polls of 20 s), so an idle mapping costs
nothing; the price is that a worker can be deep inside an HTTP read when the runtime stops.
`AbortableClient` keeps the connections its requests use, and `abort()` shuts their
sockets down: the read returns at once with a connection error, which the worker, seeing the
stop flag, takes as the end. No request is retried after an abort (the client has one attempt).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSHTTPConnectionPool, AWSHTTPSConnectionPool

from localcloud.emulator import Endpoints
from localcloud.runtime.invoker import RuntimeStopped

log = logging.getLogger(__name__)


class Backoff:
    """Exponential waits between `initial_s` and `maximum_s`; `reset()` after work was found."""

    def __init__(self, initial_s: float, maximum_s: float) -> None:
        self.initial_s = initial_s
        self.maximum_s = maximum_s
        self.current_s = initial_s

    def next(self) -> float:
        wait, self.current_s = self.current_s, min(self.current_s * 2, self.maximum_s)
        return wait

    def reset(self) -> None:
        self.current_s = self.initial_s


class EventSource:
    """One event source mapping (or schedule set): named worker threads sharing one stop flag.

    Subclasses give `run_once()` (one poll-and-deliver step) and may add workers with
    `spawn()`; an exception in a step is logged and backed off, `RuntimeStopped` ends the worker.
    """

    ERROR_BACKOFF = (0.5, 5.0)

    def __init__(self, name: str) -> None:
        self.source_name = name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()

    def start(self) -> None:
        self.spawn(self.run_worker)

    def spawn(self, target: Callable[[], None]) -> threading.Thread | None:
        """Start one more worker thread, unless the source is stopping."""
        with self._threads_lock:
            if self._stop.is_set():
                return None
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=target, name=f"{self.source_name}:{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()
            return thread

    @property
    def workers(self) -> int:
        with self._threads_lock:
            return sum(1 for t in self._threads if t.is_alive())

    def stop(self) -> None:
        """Ask every worker to end, and end the waits they are in (long polls included)."""
        self._stop.set()
        self.interrupt()

    def interrupt(self) -> None:
        """End blocking calls of the workers; nothing to do for a source that only waits on `_stop`."""

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        with self._threads_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0))

    def run_worker(self) -> None:
        """Repeat `run_once()` until stopped; False from it ends this worker (pollers scaling down)."""
        backoff = Backoff(*self.ERROR_BACKOFF)
        while not self._stop.is_set():
            try:
                if self.run_once() is False:
                    return
                backoff.reset()
            except RuntimeStopped:
                return
            except Exception:  # noqa: BLE001 - the emulator hiccuped (or the stop aborted a call): back off, go on
                if self._stop.is_set():
                    return
                log.exception("%s: polling failed", self.source_name)
                self._stop.wait(backoff.next())

    def run_once(self) -> bool | None:
        raise NotImplementedError


class _Connections:
    """Every connection a client opened (weakly: a dropped one is forgotten), and whether it was aborted.

    A connection opened after the abort (a request that was just starting) is shut down as it
    connects, so no request can outlive `abort()`.
    """

    def __init__(self) -> None:
        self.opened: weakref.WeakSet[Any] = weakref.WeakSet()
        self.aborted = False
        self.lock = threading.Lock()

    def pool_class(self, base: type) -> type:
        connections = self

        class TrackingConnection(base.ConnectionCls):  # type: ignore[misc, name-defined]
            def connect(self) -> None:
                super().connect()
                with connections.lock:
                    connections.opened.add(self)
                    aborted = connections.aborted
                if aborted:
                    _shut(self)

        class TrackingPool(base):  # type: ignore[misc, valid-type]
            ConnectionCls = TrackingConnection

        return TrackingPool

    def shut_down(self) -> None:
        with self.lock:
            self.aborted = True
            opened = list(self.opened)
        for conn in opened:
            _shut(conn)


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class AbortableClient:
    """A boto3 client (one attempt per call) whose calls in progress `abort()` ends at once."""

    def __init__(self, endpoints: Endpoints, service: str) -> None:
        self.client = endpoints.client(service, retries={"max_attempts": 1, "mode": "standard"})
        self._connections = _Connections()
        # botocore builds its urllib3 pools from this map lazily, on the first request.
        classes = self.client._endpoint.http_session._pool_classes_by_scheme  # noqa: SLF001
        classes["http"] = self._connections.pool_class(AWSHTTPConnectionPool)
        classes["https"] = self._connections.pool_class(AWSHTTPSConnectionPool)

    def abort(self) -> None:
        self._connections.shut_down()
