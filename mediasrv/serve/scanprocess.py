"""The server's end of the scan process: ``ScanProcess`` starts it, asks it for one
scan at a time, watches that the scan moves, and turns the process's death
into a failed scan with the reason.

The other end, the process itself and its protocol, is ``scan/process.py``;
starting, reading and stopping a child are ``children/``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..children import command, exit_reason
from ..children.parent import PIPE, json_lines, kill, send, spawn, stop
from ..children.runqueue import starved_for, usage
from ..errors import ScanFailed

log = logging.getLogger(__name__)

# A new scan process's start (an interpreter, PyAV, Pillow) took 0.2 s idle and
# over a second on a loaded machine: its silence until it says "ready" is
# judged against at least this, not against a short --scan-timeout.
START_S = 60.0
# A silent scan whose processes waited for a CPU this share of the silence or more
# (or are runnable now and ran less than this share) is starved (a busy machine, its
# SCHED_IDLE), not stuck: killing it would only start the next scan as starved, from
# the beginning. A stopped, deadlocked or blocked process waits for no CPU at all, and
# one stuck in a loop runs (children/runqueue.py).
STARVED_SHARE = 0.25
STOP_TIMEOUT_S = 5.0  # after its stdin closes, how long an idle scan process has to exit

# (root, cache dir) -> the scan process's argv
Command = Callable[[Path, Path], list[str]]


def default_command(root: Path, cache_dir: Path) -> list[str]:
    return command("scan.process", os.fsdecode(root), os.fsdecode(cache_dir))


def why_it_ended(code: int) -> str:
    """Why a scan process that stopped answering did so, from its exit status."""
    if code == 0:
        return "scan process exited before answering"
    return exit_reason("scan process", code)


def relay_level(line: str, previous: int) -> tuple[int, str]:
    """(level, message) of a line the scan process wrote to stderr.

    Its log lines start with their level's name; a line that does not (a
    traceback's, or anything written to stderr directly) continues the
    previous one and keeps its level.
    """
    name, _, rest = line.partition(" ")
    level = logging.getLevelName(name)
    if isinstance(level, int) and rest:
        return level, rest
    return previous, line


@dataclass
class _Pending:
    id: int
    answer: asyncio.Future[dict[str, Any]]
    progress: Callable[[dict[str, Any]], None]


class ScanProcess:
    """The server's handle on one scan process: one request at a time."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.exit_reason: str | None = None  # set once the process is gone
        self._kill_reason: str | None = None  # why we killed it, if we did
        self.ready_at: float | None = None  # loop time it said "ready" (its imports done)
        self._stopping = False  # its end is ours, not news
        self._pending: _Pending | None = None
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read())
        self._stderr = loop.create_task(self._relay_stderr())

    @classmethod
    async def start(cls, argv: list[str]) -> ScanProcess:
        # A group of its own: a signal to the server's (Ctrl-C, kill -- -PID) is the
        # server's to act on; it stops the scan process in its own time.
        return cls(await spawn(argv, stdout=PIPE, stderr=PIPE, own_group=True))

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.exit_reason is None and self.proc.returncode is None

    async def scan(self, request_id: int, paths: Collection[str] | None,
                   progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Run one scan; its result (``ScanResult.as_dict()``), or ScanFailed saying why not."""
        if self.exit_reason is not None:
            raise ScanFailed(self.exit_reason)
        if self._pending is not None:
            raise RuntimeError("the scan process is busy")
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending = _Pending(request_id, answer, progress)
        request = {"id": request_id, "paths": None if paths is None else sorted(paths)}
        try:
            await send(self.proc, request)  # if it died, _read() says how
            return await answer
        except asyncio.CancelledError:
            self._stopping = True
            self.kill()  # nobody wants this scan any more (shutdown): do not let it run on
            raise
        finally:
            self._pending = None

    async def scan_watched(self, request_id: int, paths: Collection[str] | None,
                           progress: Callable[[dict[str, Any]], None],
                           timeout: float) -> dict[str, Any]:
        """``scan``, killing the process if the scan says nothing for ``timeout`` s (0: never)."""
        loop = asyncio.get_running_loop()
        heard = loop.time()

        def heard_from(message: dict[str, Any]) -> None:
            nonlocal heard
            heard = loop.time()
            progress(message)

        task = loop.create_task(self.scan(request_id, paths, heard_from))
        mark = (loop.time(), usage(self.pid))  # when its wait for a CPU was last read
        try:
            while timeout > 0 and not task.done():
                ready = self.ready_at
                allowed = timeout if ready is not None else max(timeout, START_S)
                step = max(heard, ready or heard) + allowed - loop.time()
                if step > 0:
                    if heard > mark[0]:  # it spoke: its silence, if any, starts from here
                        mark = (loop.time(), usage(self.pid))
                    # Not ready yet: look again soon, it may say so any moment.
                    await asyncio.wait({task}, timeout=step if ready is not None
                                       else min(step, 0.25))
                    continue
                now = (loop.time(), usage(self.pid))
                starved = starved_for(mark, now, STARVED_SHARE)
                if starved is not None:
                    log.warning("scan %d said nothing for %.0f s but waited %.0f s of them for "
                                "a CPU (the machine is busy; scans run at idle priority): not "
                                "stuck, it has another %g s", request_id, now[0] - mark[0],
                                starved, allowed)
                    heard, mark = now[0], now
                    continue
                # Stopped (SIGSTOP), deadlocked or stuck on a dead mount: it would
                # hold every later scan up. A new process takes the next one.
                log.error("scan %d made no progress for %g s; killing its process (pid %d)",
                          request_id, allowed, self.pid)
                self.kill(f"the scan made no progress for {allowed:g} s (its process was "
                          "stopped or stuck) and was killed; the next scan starts afresh")
                break
            return await task
        except asyncio.CancelledError:
            task.cancel()
            raise

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        garbled = None
        try:
            async for message in json_lines(self.proc.stdout, "scan process"):
                self._dispatch(message)
        except Exception as exc:  # a line over the limit, a malformed progress event
            garbled = f"scan process sent what could not be read ({type(exc).__name__}: {exc})"
            log.error("%s; stopping it", garbled)
            self.kill()
        code = await self.proc.wait()
        self.exit_reason = garbled or self._kill_reason or why_it_ended(code)
        pending = self._pending
        if pending is not None and not pending.answer.done():
            pending.answer.set_exception(ScanFailed(self.exit_reason))
        elif not self._stopping:
            log.warning("the scan process stopped (%s); the next scan starts a new one",
                        self.exit_reason)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, message_id = message.pop("type", None), message.pop("id", None)
        pending = self._pending
        if kind == "ready":
            self.ready_at = asyncio.get_running_loop().time()
        elif kind == "pruned":
            log.log(logging.INFO if message.get("removed") else logging.DEBUG,
                    "removed %s thumbnails of files that changed or are gone",
                    message.get("removed"))
        elif pending is None or message_id != pending.id or pending.answer.done():
            log.debug("scan process: unexpected %s message for request %r", kind, message_id)
        elif kind == "progress":
            pending.progress(message)
        elif kind == "result":
            pending.answer.set_result(message)
        elif kind == "error":
            pending.answer.set_exception(ScanFailed(str(message.get("message"))))

    async def _relay_stderr(self) -> None:
        assert self.proc.stderr is not None
        level = logging.WARNING
        async for line in self.proc.stderr:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                level, text = relay_level(text, level)
                log.log(level, "scan: %s", text)

    def kill(self, reason: str | None = None) -> None:
        """SIGKILL the process (stopped or not); ``reason`` is what its scan fails with."""
        if reason is not None and self._kill_reason is None:
            self._kill_reason = reason
        kill(self.proc)

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Close its stdin (it exits when idle), kill it if it has not after ``timeout``."""
        self._stopping = True
        await stop(self.proc, timeout)
        await self._reader
        await self._stderr
