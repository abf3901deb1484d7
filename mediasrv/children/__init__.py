"""The server's child processes (the scan, the watch, the followers of ``--workers``).

Each child is ``python -m mediasrv.<module>`` (``command``), started with
``child_env()`` so that this copy of mediasrv is the one it imports. The
scan and the watch processes report as JSON lines on their stdout, one
object per line of at most ``LINE_LIMIT`` bytes, written by ``emit``; the
parent's end (``parent.py``: start, read, stop) reads them with the same
limit. Every child ignores SIGINT (``ignore_sigint``): Ctrl-C in the
server's terminal reaches the whole process group, and the parent decides
when its children stop.

This module is what both ends share, and the child's end imports nothing
more (a child's start-up is measured: asyncio alone costs ~20 ms).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
from pathlib import Path
from typing import IO, Any

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent.parent)

# The longest line either end of the protocol accepts, newline excluded. A
# line is ASCII (json.dumps escapes the rest), so characters are bytes. The
# largest lines are a watch batch (capped here: past it the batch says
# "unknown") and a scan's moves (moves.MAX_CHARS keeps them well below).
LINE_LIMIT = 1 << 20


class LineTooLong(ValueError):
    """A message that would not fit in one protocol line."""


def child_env() -> dict[str, str]:
    """This environment, with this copy of mediasrv importable (even uninstalled)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p
    )
    return env


def command(module: str, *args: str) -> list[str]:
    """The argv of ``python -m mediasrv.<module> ARGS...`` with this interpreter."""
    return [sys.executable, "-m", f"mediasrv.{module}", *args]


def json_line(message: dict[str, Any]) -> str:
    """``message`` as one protocol line (newline included); LineTooLong if it is too long."""
    text = json.dumps(message)
    if len(text) > LINE_LIMIT:
        raise LineTooLong(f"a {message.get('type')} message of {len(text):,} bytes "
                          f"exceeds the {LINE_LIMIT:,} bytes of a line")
    return text + "\n"


def emit(out: IO[str], message: dict[str, Any]) -> None:
    """Write ``message`` as one line to ``out`` and flush it (the parent waits for it)."""
    out.write(json_line(message))
    out.flush()


def ignore_sigint() -> None:
    """Let Ctrl-C in the terminal stop the parent only; it stops its children in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def exit_reason(who: str, code: int) -> str:
    """Why ``who`` ended, from its exit status (negative: the signal that killed it)."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{who} killed by signal {signal.Signals(-code).name}"
        return f"{who} killed by signal {-code}"
    return f"{who} exited with status {code}"


def backoff(first: float, failures: int, most: float = math.inf) -> float:
    """The wait before a restart after ``failures`` failures in a row: doubling, up to ``most``."""
    return min(most, first * 2 ** max(failures - 1, 0))
