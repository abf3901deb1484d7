"""The ``mediasrv`` command: serve, scan, db-path.

Flags are generated from the ``settings.Settings`` dataclass; every flag can
also be set with ``MEDIASRV_<FLAG>``. A user's mistake, or a scan that fails,
is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import logging
import os
import shutil
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .addresses import start_lines
from .cache import CacheDir, LockBusy
from .errors import MediasrvError, UserError
from .names import display
from .settings import Settings, default_text, env_name, fields_for, flag_name, from_sources

log = logging.getLogger("mediasrv")

LOCK_ATTEMPTS = 10  # serve.lock: tries, 0.1 s apart

COMMANDS = {
    "serve": "index ROOT and serve it over HTTP; rescans never block browsing",
    "scan": "build and publish a new generation of ROOT's index, print a summary",
    "db-path": "print the path of ROOT's current index (for sqlite3)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediasrv", description="A self-hosted media browser; rescans never block browsing."
    )
    parser.add_argument("--version", action="version", version=f"mediasrv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command, help_text in COMMANDS.items():
        p = sub.add_parser(command, help=help_text, description=help_text)
        for f in fields_for(command):
            env = env_name(f)
            if f.name == "root":
                p.add_argument("root", type=Path, nargs="?", metavar="ROOT",
                               help=f"{f.metadata['help']} (env {env})")
                continue
            flag = "--" + flag_name(f)
            value, note = default_text(f)
            shown = f"{value}, {note}" if note else value
            text = f"{f.metadata['help']} (default: {shown}; env {env})"
            if isinstance(f.default, bool):
                if f.metadata["flag"] == "no-" + f.name:
                    p.add_argument(flag, dest=f.name, action="store_const", const=False,
                                   help=text)
                else:
                    p.add_argument(flag, dest=f.name, action="store_const", const=True,
                                   help=text)
            elif isinstance(f.default, tuple):
                p.add_argument(flag, dest=f.name, action="append", metavar="NAME", help=text)
            else:
                kind: Any = type(f.default) if f.default is not None else str
                if f.name == "cache_dir":
                    kind = Path
                p.add_argument(flag, dest=f.name, type=kind, choices=f.metadata["choices"],
                               metavar=None if f.metadata["choices"] else (
                                   f.metadata["metavar"] or f.name.upper()),
                               help=text)
    return parser


def settings_from_args(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    given = {k: v for k, v in vars(args).items() if k != "command"}
    if given.get("root") is None and not environ.get("MEDIASRV_ROOT"):
        raise UserError("which library? give ROOT (or set MEDIASRV_ROOT)")
    settings = from_sources(args.command, given, environ)
    root = settings.root
    if not root.exists():
        raise UserError(f"library root {display(str(root))} does not exist")
    if not root.is_dir():
        raise UserError(f"library root {display(str(root))} is not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise UserError(f"library root {display(str(root))} is not readable")
    return settings


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args, env)
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s",
            datefmt="%H:%M:%S", stream=sys.stderr,
        )
        if args.command == "serve":
            return serve(settings)
        if args.command == "scan":
            return scan(settings)
        return db_path(settings)
    except MediasrvError as exc:
        print(f"mediasrv: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mediasrv: interrupted", file=sys.stderr)
        return 130


def db_path(settings: Settings, out: TextIO = sys.stdout) -> int:
    cache = CacheDir(settings.resolved_cache_dir())
    if cache.current_target() is None:
        raise UserError(
            f"no index yet for {display(str(settings.root))}; run: mediasrv scan "
            f"{display(str(settings.root))}"
        )
    print(display(str(cache.current)), file=out)
    return 0


class ProgressLine:
    """Scan progress: a bar rewritten in place on a terminal, plain lines otherwise.

    On a terminal: ``probing   [#####.....]  412/1,000  12s``, at most ten
    updates a second. Elsewhere (a log, a pipe): one line when a phase starts,
    and one every ``every`` seconds while it lasts, so a long scan shows life.
    """

    BAR = 24

    def __init__(self, stream: TextIO, *, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every
        self.clock = clock
        self.phase: str | None = None
        self.unsaid = False  # the phase began, but had nothing to show yet
        self.started = clock()
        self.last_write = float("-inf")
        self.hooked: list[logging.Handler] = []

    def __call__(self, event: dict[str, Any]) -> None:
        phase, now = str(event.get("phase")), self.clock()
        new_phase = phase != self.phase
        self.phase = phase
        finished = event.get("done") is not None and event.get("done") == event.get("total")
        if not event.get("files") and event.get("total") is None:
            self.unsaid = self.unsaid or new_phase  # a phase that has counted nothing yet
            return
        new_phase, self.unsaid = new_phase or self.unsaid, False
        if self.tty:
            if not self.hooked:  # log lines would otherwise land in the middle of the bar
                self.hooked = [h for h in logging.getLogger().handlers
                               if getattr(h, "stream", None) is self.stream]
                for handler in self.hooked:
                    handler.addFilter(self._clear_for_log)
            if new_phase or finished or now - self.last_write >= 0.1:
                width = shutil.get_terminal_size((80, 24)).columns
                self.stream.write("\r\x1b[K" + self.line(event, now)[: width - 1])
                self.stream.flush()
                self.last_write = now
        elif new_phase or (finished and event.get("total")) or now - self.last_write >= self.every:
            self.stream.write(self.line(event, now) + "\n")
            self.stream.flush()
            self.last_write = now

    def line(self, event: dict[str, Any], now: float) -> str:
        """One line of text for ``event``: the phase, a bar when its total is known, counts."""
        phase, files = str(event.get("phase")), int(event.get("files") or 0)
        done, total = event.get("done"), event.get("total")
        elapsed = f"{now - self.started:.0f}s"
        if isinstance(done, int) and isinstance(total, int):
            if self.tty:
                filled = self.BAR * done // total if total else self.BAR
                bar = "[" + "#" * filled + "." * (self.BAR - filled) + "]"
                return f"{phase:<10} {bar} {done:,}/{total:,}  {elapsed}"
            return f"{phase}: {done:,}/{total:,} files  {elapsed}"
        if self.tty:
            return f"{phase:<10} {files:,} files  {elapsed}"
        return f"{phase}: {files:,} files  {elapsed}"

    def _clear_for_log(self, record: logging.LogRecord) -> bool:
        self.stream.write("\r\x1b[K")
        self.last_write = float("-inf")  # redraw the bar with the next event
        return True

    def done(self) -> None:
        for handler in self.hooked:
            handler.removeFilter(self._clear_for_log)
        self.hooked = []
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def scan(settings: Settings, out: TextIO = sys.stdout) -> int:
    from .scanjob import run_scan

    cache = CacheDir(settings.resolved_cache_dir())
    cache.ensure()
    progress = ProgressLine(sys.stderr)
    try:
        result = run_scan(settings.root, cache, progress, full=settings.full)
    except (OSError, sqlite3.Error) as exc:
        progress.done()
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or (
                isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)):
            raise UserError(f"scan failed: the disk holding {cache.path} is full") from exc
        raise UserError(f"scan failed: {exc}") from exc
    progress.done()
    walk = result.walk
    skipped = walk.get("skipped", 0)
    if result.status == "unchanged":
        print(f"no change: generation {result.generation} is current "
              f"({result.files:,} files, {result.tags:,} tags, {result.duration_s:.2f}s)", file=out)
    else:
        how = "built in full" if result.mode == "full" else "a delta of the last one"
        print(f"generation {result.generation}: {result.files:,} files, {result.tags:,} tags "
              f"in {result.duration_s:.2f}s, {how} (added {result.added:,}, "
              f"removed {result.removed:,}, changed {result.changed:,})", file=out)
    if skipped:
        print(f"skipped {skipped:,} entries (unreadable {walk['unreadable']}, vanished "
              f"{walk['vanished']}, links outside the root {walk['outside_links']}, "
              f"errors {walk['errors']}); see the log above", file=out)
    probe = result.probe
    if probe.get("probed") or probe.get("failed"):
        rejected = probe.get("rejected") or 0
        print(f"probed {probe['probed']:,} new or changed files"
              + (f"; {probe['failed']:,} could not be read (corrupt or unsupported"
                 + (f"; {rejected:,} of them not media at all" if rejected else "") + ")"
                 if probe.get("failed") else "")
              + f" in {float(str(probe.get('seconds') or 0)):.2f}s", file=out)
    print(f"index: {display(str(cache.current))}", file=out)
    remove_old_generations(cache)
    return 0


def remove_old_generations(cache: CacheDir) -> None:
    """Delete generations older than the current one, unless a server serves this cache.

    A server (it holds serve.lock) deletes what it no longer reads itself.
    Followers need no say: they keep reading a deleted file they have open,
    and move on to the current one.
    """
    try:
        with cache.lock("serve", wait=False):
            cache.remove_stale_generations(set())
    except LockBusy:
        pass


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
    from aiohttp import web

    from .server import create_app
    from .server.following import LEADER_URL
    from .server.keys import STATUS_EXTRAS
    from .workers import Supervisor

    # Bind before anything starts, so a port in use costs no scan.
    sock = sock if sock is not None else listen(settings)
    app = create_app(settings)
    if leader_url is not None:
        app[LEADER_URL] = leader_url
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    # A socket that is only bound (a --workers child's) starts listening here,
    # once the app is set up: no connection reaches a server without its index.
    await web.SockSite(runner, sock).start()
    port = sock.getsockname()[1]
    supervisor = None
    if settings.workers > 1:
        own_url = None
        if not settings.follow:
            # The followers' way to this process (the shared port may lead to any of us).
            private = socket.create_server(("127.0.0.1", 0))
            await web.SockSite(runner, private).start()
            own_url = f"http://127.0.0.1:{private.getsockname()[1]}/"
        supervisor = Supervisor(settings, port, leader_url=own_url,
                                status=app[STATUS_EXTRAS].setdefault("workers", {}))
        await supervisor.start()
    if announce:
        # The first line names where to open it; a follower or a group says so.
        role = " (a follower)" if settings.follow else ""
        processes = f" ({settings.workers} workers)" if settings.workers > 1 else ""
        lines = start_lines(display(str(settings.root)), settings.host, port,
                            token=bool(settings.token))
        lines[0] += role + processes
        for line in lines:
            print(f"mediasrv: {line}", file=sys.stderr, flush=True)
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
    await stop.wait()
    if announce:
        print("mediasrv: shutting down", file=sys.stderr, flush=True)
    if supervisor is not None:
        await supervisor.stop()
    await runner.cleanup()
    return 0


def settings_table() -> str:
    """The Markdown table of settings for the README (checked by a test)."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        if f.name == "root":
            continue
        flag = "--" + flag_name(f)
        value, note = default_text(f)
        default = value if value in ("off", "none") else f"`{value}`"
        default += f" ({note})" if note else ""
        rows.append(f"| `{flag}` | `{env_name(f)}` | {default} | {f.metadata['help']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
