"""The JSON API. Every answer says which generation it was read from."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

from aiohttp import web

from ..errors import BadParameter, FileGone, FileNotIndexed
from ..names import ALL_TAG, display
from ..rescan import Event
from ..snapshot import Snapshot
from . import following as follow
from . import params
from .keys import CACHE, COORDINATOR, LIBRARY, RNG, SETTINGS, STATUS_EXTRAS, VANISHED

routes = web.RouteTableDef()

RANDOM_DRAWS = 8  # candidates per /api/random; the first one still on disk wins
RANDOM_PAGE = 100  # if all draws are gone, look through the tag this many at a time
RANDOM_SWEEP = 2000  # ... but no further than this per request


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


@routes.get("/api/tags")
async def tags(request: web.Request) -> web.Response:
    async with request.app[LIBRARY].snapshot() as snap:
        found = await snap.tags()
        return _json({
            "generation": snap.generation,
            "tags": [{"name": name, "count": count} for name, count in found],
        })


@routes.get("/api/files")
async def files(request: web.Request) -> web.Response:
    q = params.query(request)
    tag = q.get("tag") or ALL_TAG
    offset = params.integer(q, "offset", 0, low=0, high=2**40)
    limit = params.integer(q, "limit", 100, low=1, high=params.MAX_LIMIT)
    async with request.app[LIBRARY].snapshot() as snap:
        total, page = await snap.page(tag, offset, limit)
        return _json({
            "generation": snap.generation, "tag": tag, "total": total,
            "offset": offset, "limit": limit, "files": page,
        })


@routes.get("/api/file")
async def file(request: web.Request) -> web.Response:
    q = params.query(request)
    path = params.required(q, "path")
    tag = q.get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        found = await snap.neighbours(path, tag)
        return _json({
            "generation": snap.generation, "file": found.file, "tag": found.tag,
            "position": found.position, "total": found.total,
            "prev": found.prev, "next": found.next,
        })


def on_disk(request: web.Request, path: str) -> str | None:
    """The real path of indexed ``path`` if it is a regular file inside the root."""
    root = os.path.realpath(request.app[SETTINGS].root)
    real = os.path.realpath(os.path.join(root, path))
    if real != root and not real.startswith(root + os.sep):
        return None  # a symlink that now leads out of the root
    try:
        return real if os.path.isfile(real) else None
    except (OSError, ValueError):
        return None


def vanished_in(app: web.Application, generation: int) -> set[str]:
    """Paths of ``generation`` found gone from disk since it was published."""
    table = app[VANISHED]
    if generation not in table:
        for old in [g for g in table if g < generation]:
            del table[old]
        table[generation] = set()
    return table[generation]


def report_vanished(request: web.Request, generation: int, path: str) -> None:
    """An indexed file is gone: remember it, and ask for a rescan to drop it."""
    vanished = vanished_in(request.app, generation)
    if path not in vanished:
        vanished.add(path)
        with contextlib.suppress(RuntimeError):
            request.app[COORDINATOR].request("vanished file", paths=[path])


async def pick_existing(request: web.Request, snap: Snapshot, tag: str) -> dict[str, Any]:
    """A random file of ``tag`` that is still on disk.

    Random draws first; if every draw hits a file that is gone (many files
    deleted since the last scan), look through the tag in order from a random
    place, so a file that still exists is found whenever there is one.
    """
    vanished = vanished_in(request.app, snap.generation)
    rng = request.app[RNG]

    async def first_existing(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
        fresh = [c for c in candidates if c["path"] not in vanished]
        checks = await asyncio.to_thread(lambda: [on_disk(request, c["path"]) for c in fresh])
        for candidate, real in zip(fresh, checks, strict=True):
            if real is not None:
                return candidate
            report_vanished(request, snap.generation, candidate["path"])
        return None

    for _ in range(2):
        found = await first_existing(
            await snap.random(tag, [rng.random() for _ in range(RANDOM_DRAWS)])
        )
        if found is not None:
            return found
    total, _ = await snap.page(tag, 0, 1)
    if not total:
        raise FileNotIndexed("(any file)", tag)
    position, covered = rng.randrange(total), 0
    while covered < min(total, RANDOM_SWEEP):
        size = min(RANDOM_PAGE, total - position)
        _, page = await snap.page(tag, position, size)
        found = await first_existing(page)
        if found is not None:
            return found
        covered += size
        position = (position + size) % total
    raise FileGone("every file of this tag that was looked at")


@routes.get("/api/random")
async def random_file(request: web.Request) -> web.Response:
    q = params.query(request)
    tag = q.get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        chosen = await pick_existing(request, snap, tag)
        return _json({"generation": snap.generation, "tag": tag, "file": chosen})


@routes.get("/api/search")
async def search(request: web.Request) -> web.Response:
    q = params.query(request)
    text = q.get("q", "")
    limit = params.integer(q, "limit", 50, low=1, high=params.MAX_LIMIT)
    tag = q.get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        found = await snap.search(text, limit, tag)
        return _json({"generation": snap.generation, "q": text, "tag": tag, "limit": limit,
                      "files": found})


def status_dict(app: web.Application) -> dict[str, Any]:
    extras: dict[str, Any] = app[STATUS_EXTRAS]
    library, coordinator = app[LIBRARY], app[COORDINATOR]
    snap = library.current
    running, last = coordinator.running, coordinator.last
    meta = snap.meta if snap else {}
    return {
        "generation": library.generation,
        "state": app[SETTINGS].state,
        "root": display(str(app[SETTINGS].root)),
        "files": snap.file_count if snap else None,
        "scanned_at": meta.get("scanned_at"),
        "db_path": display(str(app[CACHE].current)),
        "scanning": running is not None,
        "scan": running.as_dict() if running else None,
        "queued": coordinator.queued.id if coordinator.queued else None,
        "last_scan": last.as_dict() if last else None,
        **extras,
    }


@routes.get("/api/status")
async def status(request: web.Request) -> web.Response:
    return _json(status_dict(request.app))


def subtree(root: Path, raw: str) -> str:
    """``raw`` as a '/'-separated path inside the root ("" for the root itself).

    Empty and ``.`` segments are dropped. ``..``, an absolute path, a NUL or a
    path that a symlink leads out of the root are a BadParameter. A path that
    does not exist is fine: it may just have been deleted. Blocking (it
    resolves symlinks): call it off the event loop.
    """
    if "\x00" in raw:
        raise BadParameter("path must not contain a NUL character")
    if raw.startswith("/"):
        raise BadParameter(f"path must be relative to the library root, not {display(raw)!r}")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise BadParameter(f"path must not contain '..': {display(raw)!r}")
    rel = "/".join(parts)
    root_real = os.path.realpath(root)
    real = os.path.realpath(os.path.join(root_real, rel))
    if real != root_real and not real.startswith(root_real.rstrip(os.sep) + os.sep):
        raise BadParameter(f"path {display(raw)!r} leads out of the library root")
    return rel


@routes.post("/api/rescan")
async def rescan(request: web.Request) -> web.Response:
    """A rescan of everything, or with ``?path=P`` (repeatable) of those subtrees only."""
    if request.app[SETTINGS].follow:
        return await follow.rescan_elsewhere(request)  # 409, or the leader's answer
    q = params.query(request, repeatable=("path",))
    raw_paths = params.query_all(request, "path")
    root = request.app[SETTINGS].root
    paths: list[str] | None = [
        await asyncio.to_thread(subtree, root, raw) for raw in raw_paths
    ] or None
    if paths is not None and "" in paths:
        paths = None  # the root itself: everything
    scan = request.app[COORDINATOR].request("http", paths=paths)
    if q.get("wait") in ("1", "true", "yes"):
        await scan.done.wait()
        info = scan.as_dict()
        return _json({
            "scan_id": scan.id, "status": scan.status,
            "generation": info["generation"] or request.app[LIBRARY].generation,
            **{k: info[k] for k in ("files", "added", "removed", "changed", "duration_s",
                                    "paths", "mode", "error")},
        })
    return _json({"scan_id": scan.id, "status": scan.status, "status_url": "/api/status",
                  "paths": scan.as_dict()["paths"]}, status=202)


@routes.get("/api/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a ``status`` event first, then every scan event as it happens."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    coordinator = request.app[COORDINATOR]
    async with coordinator.subscribe() as queue:
        await _send(response, "status", status_dict(request.app))
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout=15)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if message.get("event") == "shutdown":
                break
            await _send(response, message["event"], message)
    return response


async def _send(response: web.StreamResponse, event: str, data: dict[str, Any]) -> None:
    wire = data.wire if isinstance(data, Event) else None  # a scan event: encoded once for all
    await response.write(wire or f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
