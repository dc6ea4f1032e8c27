"""The embedded moto server's own process: `python moto_process.py HOST PORT`.

Prints the port it listens on (PORT 0 takes a free one), then serves until its standard input
closes. The parent holds the other end of that pipe, so the server ends with its parent however
the parent ends, a SIGKILL included: no emulator is ever left behind. Ctrl-C, which a terminal
sends to the whole process group, is ignored here: the parent decides when the emulator goes,
after its own pollers have stopped calling it.
"""

from __future__ import annotations

import io
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

# DynamoDB's JSON protocol names the operation in the X-Amz-Target header.
_DYNAMODB_WRITES = frozenset(
    f"DynamoDB_20120810.{operation}"
    for operation in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "ExecuteStatement",
                      "BatchExecuteStatement", "ExecuteTransaction")
)


class SerializedDynamoDB:
    """Runs DynamoDB writes one at a time, as AWS makes each write and each transaction atomic.

    moto 5.2.5 applies TransactWriteItems by deep-copying every table it touches and, when a
    condition fails, putting the copies back, with no lock: a write another request made in
    between is lost. Seen here as 51 orders confirmed for 50 units (sold-out transactions put
    back stock that concurrent ones had taken); the deep copy also fails with "dictionary
    changed size during iteration" while another request writes the table, and a conditional
    write checks and writes in two steps. Reads are left concurrent: they never write, so they
    cannot lose anything, though one may see a transaction that is being rolled back. Other
    services pass straight through (SQS long polls wait inside their request).
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "") not in _DYNAMODB_WRITES:
            return self._app(environ, start_response)
        # Read the request before taking the lock: a client the machine has descheduled may still be sending it.
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        with self._lock:
            return list(self._app(environ, start_response))


def main(host: str, port: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdout = sys.stderr  # nobody reads the pipe after the port: a stray print must not fill it and block
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
