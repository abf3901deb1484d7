"""The ``mediasrv`` command: serve, scan, db-path.

Flags are generated from ``settings.SETTINGS``; every flag can also be set
with ``MEDIASRV_<FLAG>``. A user's mistake is one line on stderr and exit
status 2 (1 for a failed scan), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .cache import CacheDir, LockBusy
from .errors import MediasrvError, UserError
from .names import display
from .settings import Settings, env_name, fields_for, from_sources

log = logging.getLogger("mediasrv")

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
            flag = "--" + (f.metadata["flag"] or f.name.replace("_", "-"))
            text = f"{f.metadata['help']} (env {env}; default {f.default})"
            if isinstance(f.default, bool):
                if f.metadata["flag"] == "no-" + f.name:
                    p.add_argument(flag, dest=f.name, action="store_const", const=False,
                                   help=text)
                else:
                    p.add_argument(flag, dest=f.name, action="store_const", const=True,
                                   help=text)
            else:
                kind: Any = type(f.default) if f.default is not None else str
                if f.name == "cache_dir":
                    kind = Path
                p.add_argument(flag, dest=f.name, type=kind, choices=f.metadata["choices"],
                               metavar=f.name.upper() if not f.metadata["choices"] else None,
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
    """Scan progress: one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.phase: str | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        phase, files = event.get("phase"), event.get("files", 0)
        if self.tty:
            self.stream.write(f"\r\x1b[K{phase}… {files:,} files")
            self.stream.flush()
        elif phase != self.phase:
            self.stream.write(f"{phase}… {files:,} files\n")
        self.phase = str(phase)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def scan(settings: Settings, out: TextIO = sys.stdout) -> int:
    from .scanjob import run_scan

    cache = CacheDir(settings.resolved_cache_dir())
    cache.ensure()
    progress = ProgressLine(sys.stderr)
    try:
        result = run_scan(settings.root, cache, progress)
    except OSError as exc:
        progress.done()
        if exc.errno == errno.ENOSPC:
            raise UserError(f"scan failed: the disk holding {cache.path} is full") from exc
        raise UserError(f"scan failed: {exc}") from exc
    progress.done()
    walk = result.walk
    skipped = walk.get("skipped", 0)
    if result.status == "unchanged":
        print(f"no change: generation {result.generation} is current "
              f"({result.files:,} files, {result.tags:,} tags, {result.duration_s:.2f}s)", file=out)
    else:
        print(f"generation {result.generation}: {result.files:,} files, {result.tags:,} tags "
              f"in {result.duration_s:.2f}s (added {result.added:,}, removed {result.removed:,}, "
              f"changed {result.changed:,})", file=out)
    if skipped:
        print(f"skipped {skipped:,} entries (unreadable {walk['unreadable']}, vanished "
              f"{walk['vanished']}, links outside the root {walk['outside_links']}, "
              f"errors {walk['errors']}); see the log above", file=out)
    print(f"index: {display(str(cache.current))}", file=out)
    return 0


def serve(settings: Settings) -> int:
    if not settings.loopback_only and not settings.token:
        raise UserError(
            f"refusing to listen on {settings.host} without an access token: "
            "set --token (or MEDIASRV_TOKEN), or listen on 127.0.0.1"
        )
    cache = CacheDir(settings.resolved_cache_dir())
    cache.ensure()
    try:
        lock = cache.hold_lock("serve")
    except LockBusy:
        raise UserError(f"another mediasrv is already serving from {cache.path}") from None
    try:
        return asyncio.run(_serve(settings))
    finally:
        os.close(lock)


async def _serve(settings: Settings) -> int:
    from aiohttp import web

    from .server import create_app

    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(f"port {settings.port} on {settings.host} is already in use") from None
        raise UserError(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    port = runner.addresses[0][1] if runner.addresses else settings.port
    print(f"mediasrv: serving {display(str(settings.root))} at http://{host}:{port}/",
          file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    print("mediasrv: shutting down", file=sys.stderr, flush=True)
    await runner.cleanup()
    return 0


def settings_table() -> str:
    """The Markdown table of settings for the README (checked by a test)."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        if f.name == "root":
            continue
        flag = "--" + (f.metadata["flag"] or f.name.replace("_", "-"))
        rows.append(f"| `{flag}` | `{env_name(f)}` | `{f.default}` | {f.metadata['help']} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
