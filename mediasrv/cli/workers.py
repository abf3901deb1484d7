"""``mediasrv serve --workers N``: one port, N server processes, all cores.

One Python process serves with one core (one GIL). With ``--workers N`` the
process started by the user (the leader, or a follower itself) serves as
usual and runs N-1 followers (``mediasrv.serve.follower``) as child processes on the
same cache dir and the same port: each gets a socket bound with
``SO_REUSEPORT``, made here, so the kernel spreads new connections over all
of them and no other program can join the group (the port is first checked
with a plain bind). A child listens only once it serves the current
generation. A child that dies is started again (after 0.5 s, doubling up to
30 s while it keeps dying young); SIGINT and SIGTERM to this process (Ctrl-C
reaches the whole process group: the children leave it to us) stop them all,
and a child whose parent died stops by itself (its stdin ends).

A child is ``python -m mediasrv.cli.worker FD N`` (N: its number, for the log);
its settings arrive as one JSON line on stdin (not in argv, where ``ps``
would show the token). The kernel, not the user, chooses which process gets
a request, so a rescan asked of a child is passed on to the leader, which
listens on a private loopback port for that too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from ..children import backoff, exit_reason
from ..children import command as child_command
from ..children.parent import send, spawn, stop
from ..serve.status import WorkerInfo, WorkersStatus
from ..settings import Settings

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 30.0  # a child that lived this long starts again without delay
STOP_TIMEOUT_S = 10.0


def bind(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host:port``, not yet listening (as socket.create_server binds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def listen_shared(host: str, port: int) -> socket.socket:
    """The first socket of a SO_REUSEPORT group on ``host:port``, listening.

    A plain bind first: it fails if anything listens there already, even
    another group, which a SO_REUSEPORT bind would silently join.
    """
    with bind(host, port, reuse_port=False) as probe:
        port = probe.getsockname()[1]  # --port 0: the free port just found
    sock = bind(host, port, reuse_port=True)
    sock.listen()
    return sock


@dataclasses.dataclass
class Child:
    """One follower process and its history."""

    number: int
    proc: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    last_exit: int | None = None

    def as_dict(self) -> WorkerInfo:
        alive = self.proc is not None and self.proc.returncode is None
        return {"worker": self.number, "pid": self.proc.pid if alive and self.proc else None,
                "started_at": self.started_at, "restarts": self.restarts,
                "last_exit": self.last_exit}


class WorkerGroup:
    """Runs ``settings.workers - 1`` followers on ``host:port`` and keeps them running."""

    def __init__(self, settings: Settings, port: int, *, leader_url: str | None = None,
                 command: list[str] | None = None) -> None:
        self.settings = settings
        self.port = port
        self.leader_url = leader_url
        self.command = command or child_command("cli.worker")
        self.children = [Child(n) for n in range(2, settings.workers + 1)]
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Shown by /api/status of this process (the children's own say "follower").
        self.status = WorkersStatus(count=settings.workers, followers=[])

    def child_message(self) -> dict[str, Any]:
        """What a child is told on stdin: its settings, and the leader to pass rescans to."""
        values = dataclasses.asdict(self.settings)
        values.update(follow=True, workers=1, port=self.port,
                      cache_dir=self.settings.resolved_cache_dir())
        settings = {k: os.fsdecode(v) if isinstance(v, Path) else v for k, v in values.items()}
        return {"settings": settings, "leader_url": self.leader_url}

    async def start(self) -> None:
        for child in self.children:
            await self._spawn(child)
            self._tasks.append(asyncio.get_running_loop().create_task(self._keep(child)))
        self._show()

    async def _spawn(self, child: Child) -> None:
        sock = bind(self.settings.host, self.port, reuse_port=True)
        try:
            child.proc = await spawn([*self.command, str(sock.fileno()), str(child.number)],
                                     pass_fds=(sock.fileno(),))
        finally:
            # Ours must go: a listening socket nobody accepts on would still get connections.
            sock.close()
        child.started_at = time.time()
        await send(child.proc, self.child_message())
        log.info("worker %d started (pid %d)", child.number, child.proc.pid)

    async def _keep(self, child: Child) -> None:
        young_deaths = 0  # in a row: each doubles the wait before the next start
        while True:
            assert child.proc is not None
            code = await child.proc.wait()
            child.last_exit = code
            self._show()
            if self._stopping:
                return
            lived = time.time() - child.started_at
            young_deaths = 1 if lived >= HEALTHY_AFTER_S else young_deaths + 1
            delay = backoff(FIRST_BACKOFF_S, young_deaths, MAX_BACKOFF_S)
            log.warning("%s; starting it again in %gs",
                        exit_reason(f"worker {child.number} (pid {child.proc.pid})", code), delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self._spawn(child)
            except OSError as exc:
                log.error("cannot start worker %d again: %s", child.number, exc)
                continue
            child.restarts += 1
            self._show()

    def _show(self) -> None:
        self.status["followers"] = [c.as_dict() for c in self.children]

    async def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop every child: SIGTERM, then SIGKILL after ``timeout`` s."""
        self._stopping = True
        running = [c.proc for c in self.children if c.proc and c.proc.returncode is None]
        await asyncio.gather(*(stop(p, timeout, signal.SIGTERM) for p in running))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._show()
