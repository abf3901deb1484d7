"""Zip downloads: a tag's files as one archive, streamed, with an exact ``Content-Length``.

The archive is made by zipstream-ng as the bytes go out: members are stored
(media does not compress), ZIP64 where sizes or offsets need it, and the whole
size is known before the first byte because every member's size is. Nothing
is written to disk and memory stays flat: a worker thread reads and checksums
about a megabyte at a time while the event loop sends the previous one.

The set of files is one generation's (read under the caller's lease, before
the first byte). Files that are gone or whose size differs from the index at
that moment are left out and listed in a last member, ``MISSING.txt``, which
the promised length already counts. A file that changes after the length was
promised (deleted, shortened, grown) cannot be sent as promised: the
connection is closed early, so the browser reports a failed download rather
than keeping a complete-looking, corrupt zip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

import zipstream
from aiohttp import web
from zipstream.ng import ZIP64_ESTIMATE_FACTOR, ZIP64_LIMIT

from ..names import ALL_TAG, display
from ..snapshot import Snapshot
from . import params
from .files import report_gone, sizes_on_disk
from .keys import LIBRARY
from .zipnames import disposition, download_name, free_name, member_names

log = logging.getLogger(__name__)

BATCH = 1 << 20  # bytes pulled from the archive per thread hop, and handed to the socket
LISTING = 5000  # files of the tag read per query while the archive is planned
MISSING = "MISSING.txt"

routes = web.RouteTableDef()


@dataclass
class ZipPlan:
    """What a download will send: the archive (members queued, length known) and its name."""

    archive: zipstream.ZipStream
    filename: str
    generation: int
    missing: list[str] = field(default_factory=list)  # indexed paths left out
    paths: dict[str, str] = field(default_factory=dict)  # real path -> indexed path
    budgets: list[int] = field(default_factory=list)  # each member's bytes, in order

    @property
    def length(self) -> int:
        return len(self.archive)


async def tag_files(snapshot: Snapshot, tag: str) -> list[tuple[str, int]]:
    """(path, size) of every file of ``tag`` in natural order (UnknownTag if there is none).

    Only these two are kept from each page: a tag of a million files is a
    list of a million short tuples, not of a million file objects.
    """
    files: list[tuple[str, int]] = []
    total = 1
    while len(files) < total:
        total, page = await snapshot.page(tag, len(files), LISTING)
        if not page:
            break  # the tag is empty (Favourites without stars)
        files.extend((f["path"], f["size"]) for f in page)
    return files


def _plan(app: web.Application, files: list[tuple[str, int]], tag: str,
          generation: int) -> ZipPlan:
    """Check each file on disk and queue the ones that are as indexed. Blocking."""
    archive = zipstream.ZipStream(sized=True)
    plan = ZipPlan(archive, download_name(tag), generation)
    paths = [path for path, _ in files]
    names = member_names(paths)
    for (path, size), name, seen in zip(files, names, sizes_on_disk(app, paths), strict=True):
        if seen is not None and seen[1] == size:
            archive.add_path(seen[0], name)  # stats it again: the length counts what it saw
            plan.paths[seen[0]] = path
            plan.budgets.append(local_size(name, size))
        else:
            plan.missing.append(path)
    if plan.missing:
        lines = [display(path) + "\n" for path in plan.missing]
        note = ("These files of the tag were indexed but had been deleted or changed since"
                " the last scan, so they are not in this archive:\n\n")
        text = (note + "".join(lines)).encode()
        name = free_name(MISSING, set(names))
        archive.add(text, name)
        plan.budgets.append(local_size(name, len(text)))
    return plan


def local_size(name: str, size: int) -> int:
    """Bytes of a stored member of ``size`` bytes before the central directory, as
    zipstream-ng writes it: header, name, ZIP64 sizes if it may need them, data, descriptor."""
    zip64 = size * ZIP64_ESTIMATE_FACTOR > ZIP64_LIMIT
    return 30 + len(name.encode()) + size + (20 + 24 if zip64 else 16)


@routes.get("/api/zip")
async def api_zip(request: web.Request) -> web.StreamResponse:
    """``?tag=T``: the tag's files as one zip (``All`` when empty or absent)."""
    tag = params.query(request).get("tag") or ALL_TAG
    async with request.app[LIBRARY].snapshot() as snap:
        plan = await plan_zip(request, snap, await snap.tag_name(tag))
    return await send_zip(request, plan)  # the lease is back: the files are on disk


async def plan_zip(request: web.Request, snapshot: Snapshot, tag: str) -> ZipPlan:
    """The archive of ``tag`` in ``snapshot``: read the tag, look at each file on disk.

    The snapshot is not needed once this returns: a caller may give back its
    lease before sending (a long download then does not keep an old
    generation's file alive).
    """
    files = await tag_files(snapshot, tag)
    plan = await asyncio.to_thread(_plan, request.app, files, tag, snapshot.generation)
    for path in plan.missing:
        report_gone(request.app, snapshot.generation, path)
    return plan


async def zip_response(request: web.Request, snapshot: Snapshot, tag: str, *,
                       still_allowed: Callable[[], bool] | None = None,
                       headers: Mapping[str, str] | None = None) -> web.StreamResponse:
    """The files of ``tag`` as one zip, streamed (``plan_zip`` then ``send_zip``)."""
    return await send_zip(request, await plan_zip(request, snapshot, tag),
                          still_allowed=still_allowed, headers=headers)


async def send_zip(request: web.Request, plan: ZipPlan, *,
                   still_allowed: Callable[[], bool] | None = None,
                   headers: Mapping[str, str] | None = None) -> web.StreamResponse:
    """Stream ``plan``'s archive, with ``headers`` added to the answer's own.

    ``still_allowed`` is asked on the event loop after each member; once it
    says False, the connection is closed without the rest.
    """
    response = web.StreamResponse(headers={
        "Content-Type": "application/zip",
        "Content-Disposition": disposition(plan.filename),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        **(headers or {}),
    })
    response.content_length = plan.length
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    reader = _Reader(plan.archive, plan.budgets, stop_between=still_allowed is not None)
    try:
        await _pump(response, reader, still_allowed)
    except ConnectionError:
        log.debug("zip of %r: the client went away", plan.filename)
    except _Cut as cut:
        log.warning("zip of %r cut short: %s", plan.filename, cut)
        gone = cut.__cause__
        if isinstance(gone, FileNotFoundError) and gone.filename in plan.paths:
            report_gone(request.app, plan.generation, plan.paths[gone.filename])
        if request.transport is not None:
            request.transport.close()  # short of Content-Length: the download fails
    return response


class _Cut(Exception):
    """The archive cannot go on as promised: the connection is closed early."""


async def _pump(response: web.StreamResponse, reader: _Reader,
                still_allowed: Callable[[], bool] | None) -> None:
    """Send the reader's batches; read the next one while the previous one is sent."""
    loop = asyncio.get_running_loop()
    ahead: asyncio.Future[tuple[bytes, bool]] | None = loop.run_in_executor(
        None, reader.next_batch)
    try:
        while ahead is not None:
            try:
                batch, member_done = await ahead
            except (OSError, RuntimeError) as exc:  # a file deleted, shortened or grown
                raise _Cut(str(exc)) from exc
            ahead = None
            if not reader.finished:
                ahead = loop.run_in_executor(None, reader.next_batch)
            if batch:
                await response.write(batch)  # ConnectionResetError: the client went away
            if member_done and still_allowed is not None and not still_allowed():
                raise _Cut("no longer allowed")  # after a whole member, before the next
    finally:
        if ahead is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(ahead)  # let the thread finish its batch, then close
        reader.close()


class _Reader:
    """Pulls a ZipStream's bytes in batches of about ``BATCH``, in a worker thread.

    Each member may take no more bytes than its budget: a file that grew
    since the length was promised stops the archive before a byte too many is
    sent (one that shrank is caught by zipstream-ng at its end). With
    ``stop_between``, a batch also ends where a member ends, so that the
    event loop can decide whether to go on before the next member starts.
    Only one thread runs it at a time (``_pump`` waits for each batch).
    """

    def __init__(self, archive: zipstream.ZipStream, budgets: list[int], *,
                 stop_between: bool) -> None:
        self._archive = archive
        self._budgets = iter(budgets)
        self._stop_between = stop_between
        self._member: Generator[bytes, None, bool] | None = None
        self._left = 0  # bytes the current member may still take
        self.finished = False

    def next_batch(self) -> tuple[bytes, bool]:
        """(the next bytes, whether a member ended with them)."""
        parts: list[bytes] = []
        size = 0
        while size < BATCH and not self.finished:
            if self._member is None:
                self._member = self._archive.file()
                self._left = next(self._budgets, 0)
            try:
                piece = next(self._member)
            except StopIteration as stop:
                self._member = None
                if not stop.value:  # no member left: the central directory ends it
                    parts.extend(self._archive.footer())
                    self.finished = True
                if self._stop_between:
                    return b"".join(parts), True
                continue
            self._left -= len(piece)
            if self._left < 0:
                raise RuntimeError("a file grew while the archive was being sent")
            parts.append(piece)
            size += len(piece)
        return b"".join(parts), False

    def close(self) -> None:
        """Close the member being read (and with it its file)."""
        if self._member is not None:
            self._member.close()
            self._member = None
