"""One server of a ``--workers`` group: ``python -m mediasrv.cli.worker FD N``.

Started by ``workers.WorkerGroup`` with a bound socket (FD) and its settings as
one JSON line on stdin; it serves until its parent stops it or goes away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys

from ..children import ignore_sigint
from ..settings import Settings
from . import run_server


def _read_line(fd: int) -> bytes:
    """One line from ``fd``, unbuffered (what follows stays for the end-of-file watch)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m mediasrv.cli.worker FD N``: serve as a follower on socket FD until stopped."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not all(a.isdigit() for a in args):
        print("usage: python -m mediasrv.cli.worker FD N (settings as JSON on stdin)",
              file=sys.stderr)
        return 2
    ignore_sigint()  # the parent stops us (SIGTERM) in order
    line = _read_line(0)
    if not line:
        return 0  # the parent is gone before it told us anything
    message = json.loads(line)
    settings = Settings(**message["settings"])
    number = args[1]
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr, datefmt="%H:%M:%S",
                        format=f"%(asctime)s %(levelname)s [worker {number}] %(message)s")
    sock = socket.socket(fileno=int(args[0]))
    return asyncio.run(run_server(settings, sock, announce=False,
                                  leader_url=message.get("leader_url"), stop_on_stdin_eof=True))


if __name__ == "__main__":
    sys.exit(main())
