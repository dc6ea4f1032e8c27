"""The embedded moto server's own process: `python moto_process.py HOST PORT`.

Prints the port it listens on (PORT 0 takes a free one), then serves until its standard input
closes. The parent holds the other end of that pipe, so the server ends with its parent however
the parent ends, a SIGKILL included: no emulator is ever left behind. Ctrl-C, which a terminal
sends to the whole process group, is ignored here: the parent decides when the emulator goes,
after its own pollers have stopped calling it.
"""

from __future__ import annotations

import logging
import signal
import sys

from moto.server import ThreadedMotoServer


def main(host: str, port: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
