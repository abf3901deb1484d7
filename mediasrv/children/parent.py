"""The parent's end of a child process: start it, read its JSON lines, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from . import LINE_LIMIT, child_env

log = logging.getLogger(__name__)

PIPE = asyncio.subprocess.PIPE


async def spawn(argv: Sequence[str], *, stdout: int | None = None, stderr: int | None = None,
                pass_fds: Collection[int] = (), own_group: bool = False,
                ) -> asyncio.subprocess.Process:
    """Start ``argv`` with ``child_env()``, its stdin a pipe (closing it asks the child to
    stop), its stdout read a line of at most ``LINE_LIMIT`` bytes at a time; with
    ``own_group``, in a process group of its own (signals to the server's group, Ctrl-C or
    ``kill -- -PID``, are the server's to act on: it stops the child in order)."""
    return await asyncio.create_subprocess_exec(
        *argv, stdin=PIPE, stdout=stdout, stderr=stderr, pass_fds=tuple(pass_fds),
        env=child_env(), limit=LINE_LIMIT, process_group=0 if own_group else None,
    )


async def json_lines(stream: asyncio.StreamReader, who: str) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects ``who`` writes, one a line; anything else is logged and passed over.

    A line longer than ``LINE_LIMIT`` raises ValueError: the child misbehaves.
    """
    async for line in stream:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if isinstance(message, dict):
            yield message
        else:
            log.warning("%s said: %r", who, line[:200])


async def send(proc: asyncio.subprocess.Process, message: dict[str, Any]) -> None:
    """Write ``message`` as one JSON line to the child's stdin; a dead child is not an error
    here (its exit says why)."""
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    with contextlib.suppress(ConnectionError):
        await proc.stdin.drain()


def kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the child (stopped or not), unless it is gone already."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def stop(proc: asyncio.subprocess.Process, timeout: float,
               sig: signal.Signals | None = None) -> int:
    """Ask the child to exit (close its stdin, or send ``sig``), SIGKILL it if it has not
    after ``timeout`` s; its exit status."""
    if sig is not None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    if proc.stdin is not None and not proc.stdin.is_closing():
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        log.warning("pid %d did not exit within %g s; killing it", proc.pid, timeout)
        kill(proc)
    code = await proc.wait()
    if proc.stdin is not None:
        with contextlib.suppress(ConnectionError):
            await proc.stdin.wait_closed()
    return code
