"""Indexed files as they are on disk: where they are, which are gone, a random one that is not.

Handlers of every kind (JSON, pages, bytes) use these; none of them answers a
request itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from typing import Any

from aiohttp import web

from ..errors import FileGone, FileNotIndexed
from ..snapshot import Snapshot
from . import params
from .keys import COORDINATOR, LIBRARY, RNG, SETTINGS

RANDOM_DRAWS = 8  # candidates per random pick; the first one still on disk wins
RANDOM_PAGE = 100  # if all draws are gone, look through the tag this many at a time
RANDOM_SWEEP = 2000  # ... but no further than this per request


def on_disk(app: web.Application, path: str) -> str | None:
    """The real path of indexed ``path`` if it is a regular file inside the root.

    Blocking (it resolves symlinks): call it off the event loop.
    """
    root = os.path.realpath(app[SETTINGS].root)
    real = os.path.realpath(os.path.join(root, path))
    if real != root and not real.startswith(root + os.sep):
        return None  # a symlink that now leads out of the root
    try:
        return real if os.path.isfile(real) else None
    except (OSError, ValueError):
        return None


def sizes_on_disk(app: web.Application, paths: list[str]) -> list[tuple[str, int] | None]:
    """(real path, size) of each indexed path that is a regular file inside the root, else None.

    What ``on_disk`` says of each, for many files at once: each folder is
    resolved once, then each file costs one ``lstat`` (a ``stat`` more if it is
    a symlink, which is then resolved in full). Blocking: call it off the loop.
    """
    root = os.path.realpath(app[SETTINGS].root)
    folders: dict[str, str | None] = {}
    found: list[tuple[str, int] | None] = []
    for path in paths:
        folder, _, name = path.rpartition("/")
        if folder not in folders:
            real = os.path.realpath(os.path.join(root, folder))
            folders[folder] = real if _inside(root, real) else None
        base = folders[folder]
        found.append(None if base is None else _regular(root, os.path.join(base, name)))
    return found


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _regular(root: str, candidate: str) -> tuple[str, int] | None:
    try:
        info = os.lstat(candidate)
        if stat.S_ISLNK(info.st_mode):
            candidate = os.path.realpath(candidate)
            if not _inside(root, candidate) or candidate == root:
                return None
            info = os.stat(candidate)
    except (OSError, ValueError):
        return None
    return (candidate, info.st_size) if stat.S_ISREG(info.st_mode) else None


def report_gone(app: web.Application, generation: int, path: str) -> None:
    """An indexed file is gone: note it on its generation, and ask for a rescan to drop it."""
    if app[LIBRARY].found_gone(generation, path):
        with contextlib.suppress(RuntimeError):  # shutting down
            app[COORDINATOR].request("vanished file", paths=[path])


async def indexed_file(request: web.Request, prefix: str,
                       tag: str | None = None) -> tuple[str, str]:
    """(indexed path, real path) of the file named after ``prefix``, or a 404.

    Only a path of the current index is looked at (with ``tag``, only a file
    of that tag), and only if it still resolves inside the root: ``..``,
    encoded slashes, absolute paths and symlinks leading out never match.
    """
    path = params.tail(request, prefix)
    if "\x00" in path:  # no file name has one; never let it near the filesystem
        raise FileNotIndexed(path)
    async with request.app[LIBRARY].snapshot() as snap:
        if tag is None:
            await snap.get(path)  # FileNotIndexed -> 404
        else:
            await snap.neighbours(path, tag, details=False)  # UnknownTag, FileNotIndexed -> 404
        real = await asyncio.to_thread(on_disk, request.app, path)
        if real is None:
            report_gone(request.app, snap.generation, path)
            raise FileGone(path)
    return path, real


async def first_existing(app: web.Application, snap: Snapshot,
                         candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first of ``candidates`` still on disk; the ones found gone are reported."""
    gone = app[LIBRARY].gone(snap.generation)
    fresh = [c for c in candidates if c["path"] not in gone]
    checks = await asyncio.to_thread(lambda: [on_disk(app, c["path"]) for c in fresh])
    for candidate, real in zip(fresh, checks, strict=True):
        if real is not None:
            return candidate
        report_gone(app, snap.generation, candidate["path"])
    return None


async def pick_existing(app: web.Application, snap: Snapshot, tag: str) -> dict[str, Any]:
    """A random file of ``tag`` that is still on disk.

    Random draws first; if every draw hits a file that is gone (many files
    deleted since the last scan), look through the tag in order from a random
    place, so a file that still exists is found whenever there is one.
    """
    rng = app[RNG]
    for _ in range(2):
        draws = await snap.random(tag, [rng.random() for _ in range(RANDOM_DRAWS)])
        found = await first_existing(app, snap, draws)
        if found is not None:
            return found
    total, _ = await snap.page(tag, 0, 1)
    if not total:
        raise FileNotIndexed("(any file)", tag)
    position, covered = rng.randrange(total), 0
    while covered < min(total, RANDOM_SWEEP):
        size = min(RANDOM_PAGE, total - position)
        _, page = await snap.page(tag, position, size)
        found = await first_existing(app, snap, page)
        if found is not None:
            return found
        covered += size
        position = (position + size) % total
    raise FileGone("every file of this tag that was looked at")
