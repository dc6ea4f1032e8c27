"""The embedded moto server's own process: `python moto_process.py HOST PORT`.

Prints the port it listens on (PORT 0 takes a free one), then serves until its standard input
closes. The parent holds the other end of that pipe, so the server ends with its parent however
the parent ends, a SIGKILL included: no emulator is ever left behind. Ctrl-C, which a terminal
sends to the whole process group, is ignored here: the parent decides when the emulator goes,
after its own pollers have stopped calling it.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from localcloud import moto_transactions

# DynamoDB's JSON protocol names the operation in the X-Amz-Target header.
_TARGET_PREFIX = "DynamoDB_20120810."
_SINGLE_TABLE_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
# moto runs a PartiQL statement against a snapshot of every table, so it may touch any of them.
_PARTIQL_WRITES = frozenset({"ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"})
_WRITES = _SINGLE_TABLE_WRITES | _PARTIQL_WRITES | {"BatchWriteItem", "TransactWriteItems"}
EVERY_TABLE = None  # what `tables_written` answers when it cannot narrow a write down


def _table(name: str) -> str:
    """Tables may be named by ARN (`arn:aws:dynamodb:...:table/NAME`) as well as by name."""
    return name.rsplit(":table/", 1)[-1]


def tables_written(operation: str, body: bytes) -> frozenset[str] | None:
    """The tables a DynamoDB request writes, `frozenset()` for a read, `EVERY_TABLE` if it could write any."""
    if operation not in _WRITES:
        return frozenset()
    if operation in _PARTIQL_WRITES:
        return EVERY_TABLE
    try:
        request = json.loads(body)
        if operation in _SINGLE_TABLE_WRITES:
            return frozenset({_table(request["TableName"])})
        if operation == "BatchWriteItem":
            return frozenset(_table(name) for name in request["RequestItems"])
        return frozenset(_table(op["TableName"]) for item in request["TransactItems"] for op in item.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        return EVERY_TABLE  # moto will answer the malformed request; hold everything while it does


class TableLocks:
    """Exclusive use of a set of tables, taken all at once (so two transactions can never deadlock).

    Holding every table waits for the tables in use to be released, and stops new ones from being
    taken meanwhile, so a PartiQL write is not starved by a steady stream of item writes.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._in_use: set[str] = set()
        self._everything_held = False
        self._everything_wanted = 0

    def _free(self, tables: frozenset[str] | None) -> bool:
        if self._everything_held:
            return False
        if tables is EVERY_TABLE:
            return not self._in_use
        return not self._everything_wanted and self._in_use.isdisjoint(tables)

    @contextmanager
    def holding(self, tables: frozenset[str] | None) -> Iterator[None]:
        with self._changed:
            if tables is EVERY_TABLE:
                self._everything_wanted += 1
            self._changed.wait_for(lambda: self._free(tables))
            if tables is EVERY_TABLE:
                self._everything_wanted -= 1
                self._everything_held = True
            else:
                self._in_use |= tables
        try:
            yield
        finally:
            with self._changed:
                if tables is EVERY_TABLE:
                    self._everything_held = False
                else:
                    self._in_use -= tables
                self._changed.notify_all()


class SerializedDynamoDB:
    """Runs the DynamoDB writes to each table one at a time, as AWS makes each write and each transaction atomic.

    moto 5.2.5 applies TransactWriteItems by deep-copying every table it touches and, when a
    condition fails, putting the copies back, with no lock: a write another request made in
    between to one of those tables is lost. Seen here as 51 orders confirmed for 50 units
    (sold-out transactions put back stock that concurrent ones had taken); the deep copy also
    fails with "dictionary changed size during iteration" while another request writes the
    table, and a conditional write checks and writes in two steps. Writes to different tables
    go on side by side: one lock for all of them held it ~85% of a 150-order benchmark, which
    then settled a third fewer orders per second. Reads are left concurrent: they never write,
    so they cannot lose anything, though one may see a transaction that is being rolled back.
    Other services pass straight through (SQS long polls wait inside their request). Holding the
    tables is also what lets `moto_transactions` undo a failed transaction item by item instead of
    copying the tables.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._locks = TableLocks()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(_TARGET_PREFIX):
            return self._app(environ, start_response)
        # Read the request before taking a lock: a client the machine has descheduled may still be sending it.
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        tables = tables_written(target.removeprefix(_TARGET_PREFIX), body)
        if tables == frozenset():
            return self._app(environ, start_response)
        with self._locks.holding(tables):
            return list(self._app(environ, start_response))


def main(host: str, port: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    moto_transactions.install()  # safe only because SerializedDynamoDB holds the tables a transaction names
    app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    print(server.server_port, flush=True)
    sys.stdout = sys.stderr  # nobody reads the pipe after the port: a stray print must not fill it and block
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
