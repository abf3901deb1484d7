"""``mediasrv serve``: hold the cache dir, listen, run the app until told to stop."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

from ..errors import UserError
from ..index.cachedir import CacheDir, LockBusy
from ..names import display
from ..settings import Settings
from .addresses import start_lines
from .notify import notify

if TYPE_CHECKING:  # aiohttp is imported when serving starts, not by `mediasrv scan`
    from aiohttp import web

    from ..serve.leader import Leader
    from .workers import WorkerGroup

log = logging.getLogger("mediasrv")

LOCK_ATTEMPTS = 10  # serve.lock: tries, 0.1 s apart


def serve(settings: Settings) -> int:
    if not settings.loopback_only and not settings.token:
        raise UserError(
            f"refusing to listen on {settings.host} without an access token: "
            "set --token (or MEDIASRV_TOKEN), or listen on 127.0.0.1"
        )
    cache = CacheDir(settings.resolved_cache_dir())
    if settings.follow:
        # A follower only reads the cache dir; the leader owns it (and its locks).
        if cache.path.exists() and not cache.path.is_dir():
            raise UserError(f"cache dir {cache.path} is not a folder")
        if cache.path.exists() and not os.access(cache.path, os.R_OK | os.X_OK):
            raise UserError(f"cache dir {cache.path} is not readable")
        return asyncio.run(run_server(settings))
    cache.ensure()
    for attempt in range(LOCK_ATTEMPTS):
        try:
            lock = cache.hold_lock("serve")
            break
        except LockBusy:
            if attempt == LOCK_ATTEMPTS - 1:
                raise UserError(
                    f"another mediasrv is already serving from {cache.path}"
                ) from None
            time.sleep(0.1)  # or a `mediasrv scan` checking for a server, for a moment
    raise_fd_limit()
    try:
        return asyncio.run(run_server(settings))
    finally:
        os.close(lock)


FD_WANTED = 65_536


def raise_fd_limit(wanted: int = FD_WANTED) -> int:
    """Lift the soft limit of open files towards the hard one; returns the limit now.

    Every client connection (an open event stream above all) is a file
    descriptor, and the usual soft limit of 1,024 is reached by a thousand
    browser tabs; the hard limit (often 524,288) is ours to take.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-files limit from %d: %s", soft, exc)
            return soft
        return target
    return soft


def listen(settings: Settings) -> socket.socket:
    """The listening socket (shared with --workers followers through SO_REUSEPORT)."""
    from .workers import listen_shared

    try:
        if settings.workers > 1:
            return listen_shared(settings.host, settings.port)
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        return socket.create_server((settings.host, settings.port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {settings.port} on {settings.host} is already in use") from None
        reason = exc.strerror or str(exc)
        raise UserError(f"cannot listen on {settings.host}:{settings.port}: {reason}") from None


async def run_server(
    settings: Settings,
    sock: socket.socket | None = None,
    *,
    announce: bool = True,
    leader_url: str | None = None,
    stop_on_stdin_eof: bool = False,
) -> int:
    """Serve until SIGINT or SIGTERM (or, for a --workers child, until its parent is gone).

    ``leader_url``: a --workers follower's leader, to which it passes rescans.
    """
    from ..serve.leader import Leader

    # Bind before anything starts, so a port in use costs no scan.
    sock = sock if sock is not None else listen(settings)
    leader = Leader(settings)
    # The leader before the app: its start-up scan's process starts now and boots
    # (an interpreter, its imports) while this one imports aiohttp and the server, in
    # a thread so that the loop meanwhile sends that process its scan. The first
    # files of an empty cache are browsable that much sooner (docs/DESIGN.md, the
    # flow of data, "Start-up"). The app finds the leader started and stops it at the end.
    await leader.start()
    try:
        runner = await _start_app(settings, leader, sock, leader_url)
    except BaseException:
        await leader.close()  # its scan process and watcher too (the app never ran)
        raise
    port = sock.getsockname()[1]
    group = await _start_group(settings, runner, port) if settings.workers > 1 else None
    if group is not None:
        leader.workers_status = group.status
    # Handlers first: whoever reads the start-up lines may send SIGTERM at once.
    stopped = _stop_event(stop_on_stdin_eof)
    if announce:
        _announce(settings, port)
        # systemd (Type=notify): started once listening; a --workers child is no unit of its own.
        notify("READY=1", f"STATUS=serving {display(str(settings.root))} on port {port}")
    await stopped.wait()
    if announce:
        notify("STOPPING=1", "STATUS=shutting down")
        print("mediasrv: shutting down", file=sys.stderr, flush=True)
    # The group's followers stop while this process does, each within its own grace.
    stopping = [runner.cleanup()]
    if group is not None:
        stopping.append(group.stop(settings.shutdown_grace + GROUP_STOP_MARGIN_S))
    await asyncio.gather(*stopping)
    return 0


async def _start_app(
    settings: Settings, leader: Leader, sock: socket.socket, leader_url: str | None
) -> web.AppRunner:
    """Import the server (off the loop), build the app around ``leader``, listen on ``sock``."""
    await asyncio.to_thread(_import_server)
    from aiohttp import web

    from ..server import create_app
    from ..server.following import LEADER_URL

    app = create_app(settings, leader)
    if leader_url is not None:
        app[LEADER_URL] = leader_url
    # aiohttp's default shutdown_timeout (60 s) let one paused video hold up a
    # restart for a minute. It waits that long twice for a request in flight:
    # for it to finish, then for it to end once "cancelled" (which a response
    # being written ignores), then it cuts it. Half the grace each, in all the grace.
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=settings.shutdown_grace / 2)
    await runner.setup()
    # A socket that is only bound (a --workers child's) starts listening here,
    # once the app is set up: no connection reaches a server without its index.
    await web.SockSite(runner, sock).start()
    return runner


def _import_server() -> None:
    """Import aiohttp, the server and its pages' modules (Jinja): ~0.3 s, off the loop."""
    from ..server.app import default_components
    from ..server.following import LEADER_URL  # noqa: F401

    default_components()  # imports them; create_app asks again, from the module cache


# A --workers follower gets its grace and this much more to exit before it is killed.
GROUP_STOP_MARGIN_S = 2.0


async def _start_group(settings: Settings, runner: web.AppRunner, port: int) -> WorkerGroup:
    """--workers: start the other servers of the group, which share ``port``."""
    from aiohttp import web

    from .workers import WorkerGroup

    own_url = None
    if not settings.follow:
        # The followers' way to this process (the shared port may lead to any of us).
        private = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(runner, private).start()
        own_url = f"http://127.0.0.1:{private.getsockname()[1]}/"
    group = WorkerGroup(settings, port, leader_url=own_url)
    await group.start()
    return group


def _announce(settings: Settings, port: int) -> None:
    """The start-up lines: the first names where to open it; a follower or a group says so."""
    role = " (a follower)" if settings.follow else ""
    processes = f" ({settings.workers} workers)" if settings.workers > 1 else ""
    lines = start_lines(display(str(settings.root)), settings.host, port,
                        token=bool(settings.token))
    lines[0] += role + processes
    for line in lines:
        print(f"mediasrv: {line}", file=sys.stderr, flush=True)


def _stop_event(stop_on_stdin_eof: bool) -> asyncio.Event:
    """Set on SIGINT or SIGTERM, or (``stop_on_stdin_eof``) SIGTERM or the end of stdin."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if stop_on_stdin_eof:
        # A --workers child: SIGINT (Ctrl-C) is the parent's to handle; the end
        # of stdin means the parent is gone.
        loop.add_signal_handler(signal.SIGTERM, stop.set)

        def parent_gone() -> None:
            if not os.read(0, 4096):
                loop.remove_reader(0)
                stop.set()

        loop.add_reader(0, parent_gone)
    else:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    return stop
