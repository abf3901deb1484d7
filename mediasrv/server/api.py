"""The JSON API. Every answer says which generation it was read from."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from ..errors import BadParameter
from ..index.months import with_offsets
from ..names import ALL_TAG, display
from ..serve.events import Event
from ..serve.partials import indexing
from ..serve.status import Status
from ..snapshot.base import SORTS
from ..snapshot.rendered import FILE_JSON
from . import following as follow
from . import params
from .encode import dumps_with_list, json_response
from .files import pick_existing
from .keys import CACHE, COORDINATOR, LEADER, LIBRARY, SETTINGS, THUMBS

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def _json(data: Mapping[str, Any] | bytes, status: int = 200) -> web.Response:
    return json_response(data, status=status, headers={"Cache-Control": "no-store"})


@routes.get("/api/tags")
async def tags(request: web.Request) -> web.Response:
    async with request.app[LIBRARY].snapshot() as snap:
        found = await snap.tags()
        return _json({
            "generation": snap.generation, "complete": snap.complete,
            "tags": [{"name": name, "count": count} for name, count in found],
        })


@routes.get("/api/files")
async def files(request: web.Request) -> web.Response:
    q = params.query(request)
    tag = q.get("tag") or ALL_TAG
    offset = params.integer(q, "offset", 0, low=0, high=2**40)
    limit = params.integer(q, "limit", 100, low=1, high=params.MAX_LIMIT)
    sort = params.choice(q, "sort", SORTS)
    async with request.app[LIBRARY].snapshot() as snap:
        tag = await snap.tag_name(tag)  # any spelling: answered by its shown name
        total, page = await snap.page_rendered(tag, offset, limit, sort, FILE_JSON)
        return _json(dumps_with_list({
            "generation": snap.generation, "complete": snap.complete, "tag": tag, "sort": sort,
            "total": total, "offset": offset, "limit": limit,
        }, "files", [text for _, text in page]))


@routes.get("/api/months")
async def months(request: web.Request) -> web.Response:
    q = params.query(request)
    tag = q.get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        tag = await snap.tag_name(tag)  # any spelling: answered by its shown name
        found = await snap.months(tag)
        return _json({"generation": snap.generation, "complete": snap.complete, "tag": tag,
                      "months": with_offsets(found)})


@routes.get("/api/file")
async def file(request: web.Request) -> web.Response:
    q = params.query(request)
    path = params.required(q, "path")
    tag = q.get("tag") or ALL_TAG
    sort = params.choice(q, "sort", SORTS)
    async with request.app[LIBRARY].snapshot() as snap:
        tag = await snap.tag_name(tag)  # any spelling: answered by its shown name
        found = await snap.neighbours(path, tag, sort)
        return _json({
            "generation": snap.generation, "file": found.file, "tag": found.tag, "sort": sort,
            "position": found.position, "total": found.total,
            "prev": found.prev, "next": found.next,
        })


@routes.get("/api/random")
async def random_file(request: web.Request) -> web.Response:
    q = params.query(request)
    tag = q.get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        tag = await snap.tag_name(tag)  # any spelling: answered by its shown name
        chosen = await snap.with_details(await pick_existing(request.app, snap, tag))
        return _json({"generation": snap.generation, "tag": tag, "file": chosen})


@routes.get("/api/search")
async def search(request: web.Request) -> web.Response:
    q = params.query(request)
    text = q.get("q", "")
    limit = params.integer(q, "limit", 50, low=1, high=params.MAX_LIMIT)
    tag = q.get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        tag = await snap.tag_name(tag)  # any spelling: answered by its shown name
        found = await snap.search(text, limit, tag)
        return _json({"generation": snap.generation, "complete": snap.complete, "q": text,
                      "tag": tag, "limit": limit, "files": found})


def status_dict(app: web.Application) -> Status:
    """What /api/status answers: what is served, the scans, then each part that runs here."""
    library, coordinator, leader = app[LIBRARY], app[COORDINATOR], app[LEADER]
    snap = library.current
    running, last = coordinator.running, coordinator.last
    meta = snap.meta if snap else {}
    checked = coordinator.checked_at
    status: Status = {
        "generation": library.generation,
        "state": app[SETTINGS].state,
        "root": display(str(app[SETTINGS].root)),
        "files": snap.file_count if snap else None,
        "complete": snap.complete if snap else None,
        "indexing": indexing(snap, running),
        "scanned_at": meta.get("scanned_at"),
        # When a scan last looked at the library, whatever it found (else: the index's build).
        "last_scan_at": (datetime.fromtimestamp(checked, UTC).isoformat(timespec="seconds")
                         if checked is not None else meta.get("scanned_at")),
        "db_path": display(str(app[CACHE].current)),
        "scanning": running is not None,
        "scan": running.as_dict() if running else None,
        "queued": coordinator.queued.id if coordinator.queued else None,
        "last_scan": last.as_dict() if last else None,
        "watcher": leader.watcher_status,
        "role": leader.role,
    }
    if leader.follower is not None:
        status["follower"] = leader.follower.info
    if THUMBS in app:  # the web UI's
        status["thumbnails"] = app[THUMBS].status
    if leader.workers_status is not None:
        status["workers"] = leader.workers_status
    return status


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
    arrived = time.monotonic()
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
            **{k: info[k] for k in ("files", "added", "removed", "changed")},
            # this request's wait: queued behind another scan, the scan, the swap
            "duration_s": round(time.monotonic() - arrived, 3), "scan_s": info["scan_s"],
            **{k: info[k] for k in ("paths", "mode", "error")},
        })
    return _json({"scan_id": scan.id, "status": scan.status, "status_url": "/api/status",
                  "paths": scan.as_dict()["paths"]}, status=202)


KEEP_ALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
GONE_CHECK_S = 1.0  # how soon a client that went away is noticed while nothing is sent


@routes.get("/api/events")
async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a ``status`` event first, then every scan event as it happens.

    A client that goes away (a tab navigating elsewhere) is the normal end of
    a stream: it is noticed within GONE_CHECK_S, or at the next write, and
    ends the stream with a debug line, never an error.
    """
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    try:
        async with request.app[COORDINATOR].subscribe() as queue:
            await _send(response, "status", status_dict(request.app))
            await _stream(request, response, queue)
    except ConnectionError as exc:  # aiohttp's ClientConnectionResetError among them
        log.debug("event stream to %s ended: %s", request.remote, exc)
    return response


async def _stream(request: web.Request, response: web.StreamResponse,
                  queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Relay ``queue`` to the client until shutdown or until the client is gone."""
    idle = 0.0
    while True:
        try:
            message = await asyncio.wait_for(queue.get(), timeout=GONE_CHECK_S)
        except TimeoutError:
            transport = request.transport
            if transport is None or transport.is_closing():
                log.debug("event stream to %s ended: the client went away", request.remote)
                return
            idle += GONE_CHECK_S
            if idle >= KEEP_ALIVE_S:
                await response.write(b": keep-alive\n\n")
                idle = 0.0
            continue
        if message.get("event") == "shutdown":
            return
        await _send(response, message["event"], message)
        idle = 0.0


async def _send(response: web.StreamResponse, event: str, data: Mapping[str, Any]) -> None:
    wire = data.wire if isinstance(data, Event) else None  # a scan event: encoded once for all
    await response.write(wire or f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
