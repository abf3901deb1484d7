"""Thumbnails and previews: made on first request off the event loop, kept on disk, reused.

Grid thumbnails come in two sizes (for ordinary and high-density screens);
the viewer shows a screen-sized *preview* of large pictures instead of the
original. Each is keyed by what it shows: the file's relative path, its size
and its mtime_ns (plus the edge length and a format version; for a song, also
the folder cover beside it, see ``covers.py``). A rescan that
leaves a file alone leaves its key alone, so the cached thumbnail stays valid;
a file that changes gets a new key. A file that cannot be decoded (corrupt, a
format Pillow or FFmpeg does not read, audio, documents) gets a kind icon, and
that outcome is cached too, so a broken file is tried once, not on every view.

Layout under ``<cache dir>/thumbs/``::

    ab/abcdef….jpg     a made thumbnail (JPEG)
    ab/abcdef….icon    no picture could be made: the icon name to show instead,
                       then a line saying why
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..names import kind_of, split_ext
from .covers import Cover, FolderCovers, folder_cover, make_song
from .images import register_formats
from .thumbmake import make_image, make_video, undecodable_reason

if TYPE_CHECKING:  # the shape /api/status shows it in
    from ..serve.status import ThumbnailsStatus

log = logging.getLogger(__name__)

SIZE = 320  # longest side, pixels: a grid tile (~177 CSS px) on an ordinary screen
SIZE_2X = 640  # the same tile on a high-density (2x, 3x) screen
PREVIEW = 2048  # longest side of the viewer's preview: a large screen, at a fraction of a photo
EDGES = (SIZE, SIZE_2X, PREVIEW)  # every size made; pruning keeps all of them
VERSION = 2  # bump when the way thumbnails are made changes; old ones are simply not used
# (2: HEIC, HEIF and AVIF are read; version 1 had cached them as broken)
ICONS = ("image", "video", "audio", "other", "broken")


@dataclass(frozen=True)
class Thumb:
    """What to send for one thumbnail: JPEG bytes, or the name of an icon (and why)."""

    key: str
    jpeg: bytes | None
    icon: str | None
    reason: str | None = None  # why no picture could be made


def etag(key: str) -> str:
    """The ETag of thumbnail ``key``: the key names the content, so it names the result."""
    return f'"t{VERSION}-{key[:32]}"'


@dataclass(frozen=True)
class Lookup:
    """A thumbnail's key, the file's version (``size-mtime_ns``) and the cached result.

    ``version`` is None when the picture depends on more than the file (a song's
    folder cover may come later): such a picture is never cached for good by
    browsers. ``cover`` is the real path of the folder cover it would be made from.
    """

    key: str
    version: str | None
    found: Thumb | None
    cover: str | None = None


def thumb_key(path: str, size: int, mtime_ns: int, edge: int = SIZE,
              cover: Cover | None = None) -> str:
    """The cache key of ``path`` at ``size`` bytes and ``mtime_ns`` (and of a song's folder
    ``cover``: name, size, mtime_ns): a hex digest."""
    h = hashlib.sha256()
    h.update(f"v{VERSION}\0{edge}\0{size}\0{mtime_ns}\0".encode())
    h.update(path.encode("utf-8", "surrogateescape"))
    if cover is not None:
        name, cover_size, cover_mtime_ns = cover
        h.update(f"\0cover\0{cover_size}\0{cover_mtime_ns}\0".encode())
        h.update(name.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def live_keys(rows: list[tuple[str, int, int]]) -> set[str]:
    """Every key (at every edge) of the files ``rows`` (path, size, mtime_ns) of a generation."""
    by_folder: dict[str, dict[str, tuple[int, int]]] = {}
    for path, size, mtime_ns in rows:
        folder, _, name = path.rpartition("/")
        by_folder.setdefault(folder, {})[name] = (size, mtime_ns)
    covers: dict[str, Cover | None] = {}
    for folder, files in by_folder.items():
        chosen = folder_cover(files)
        covers[folder] = (chosen, *files[chosen]) if chosen is not None else None
    live: set[str] = set()
    for path, size, mtime_ns in rows:
        folder, _, name = path.rpartition("/")
        cover = covers[folder] if kind_of(split_ext(name)[1]) == "audio" else None
        live.update(thumb_key(path, size, mtime_ns, edge, cover) for edge in EDGES)
    return live


def _walk_files(directory: Path) -> list[os.DirEntry[str]]:
    """Files one level below ``directory``'s subfolders (the cache's layout)."""
    found: list[os.DirEntry[str]] = []
    with contextlib.suppress(FileNotFoundError):
        for folder in os.scandir(directory):
            if folder.is_dir(follow_symlinks=False):
                with os.scandir(folder.path) as it:
                    found.extend(e for e in it if e.is_file(follow_symlinks=False))
    return found


def _older(entry: os.DirEntry[str], cutoff: float) -> bool:
    """Whether the file was last written before ``cutoff`` (False if it is gone)."""
    try:
        return entry.stat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def _write_atomic(dest: Path, data: bytes) -> None:
    """Write ``dest`` under a temp name and rename it: a reader never sees half a file.

    Any number of servers may share the cache (followers, other hosts): the
    temp name is this writer's alone (two hosts may well have equal pids), and
    the last rename wins with a whole file either way.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(
        f".{dest.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


MAKERS: dict[str, Callable[[str, int], bytes]] = {"image": make_image, "video": make_video}


class Thumbnailer:
    """Makes and caches thumbnails and previews; at most ``workers`` are made at a time."""

    def __init__(self, directory: Path, *, workers: int | None = None) -> None:
        self.directory = Path(directory)
        # Now, not at the first picture: whatever else in this process opens
        # pictures with Pillow reads HEIC too.
        register_formats()
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._slots = asyncio.Semaphore(self.workers)
        self._making: dict[str, asyncio.Task[Thumb]] = {}
        self.made = 0  # thumbnails made (or found undecodable) by this process
        self.covers = FolderCovers()
        # Shown in /api/status: a cache that cannot be written (disk full, read-only)
        # costs time, not thumbnails, and clears by itself with the next write that works.
        self.status: ThumbnailsStatus = {"cache": "ok", "error": None, "failed_writes": 0}

    def paths(self, key: str) -> tuple[Path, Path]:
        folder = self.directory / key[:2]
        return folder / f"{key}.jpg", folder / f"{key}.icon"

    def cached(self, key: str) -> Thumb | None:
        """The thumbnail for ``key`` if it was made before (by any process)."""
        jpeg, icon = self.paths(key)
        with contextlib.suppress(FileNotFoundError):
            return Thumb(key, jpeg.read_bytes(), None)
        try:
            name, _, reason = icon.read_text().partition("\n")
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return Thumb(key, None, name if name in ICONS else "broken", reason.strip() or None)

    def look_up(self, path: str, real: str, kind: str, edge: int = SIZE) -> Lookup:
        """What is known of ``path``'s picture at ``edge``, from the file as it is on disk now.

        Blocking (a stat and a read): call it off the event loop. Raises
        OSError if the file is gone.
        """
        st = os.stat(real)
        version = f"{st.st_size}-{st.st_mtime_ns}"
        if kind == "audio":
            beside = self.covers.beside(real)
            key = thumb_key(path, st.st_size, st.st_mtime_ns, edge, beside and beside[1])
            return Lookup(key, None, self.cached(key), beside and beside[0])
        key = thumb_key(path, st.st_size, st.st_mtime_ns, edge)
        if kind not in MAKERS:
            found: Thumb | None = Thumb(key, None, kind if kind in ICONS else "other")
        else:
            found = self.cached(key)
        return Lookup(key, version, found)

    async def make(self, key: str, real: str, kind: str, edge: int = SIZE,
                   cover: str | None = None) -> Thumb:
        """Make the picture ``key`` of ``real`` at ``edge`` (a song's: from its tags or the folder
        ``cover``), at most ``workers`` at a time."""
        task = self._making.get(key)
        if task is None:
            # Its own task, not the request's: a client that goes away does not
            # waste the work, and everyone asking for the same key shares it.
            task = asyncio.get_running_loop().create_task(
                self._produce(key, real, kind, edge, cover))
            self._making[key] = task
            task.add_done_callback(lambda _: self._making.pop(key, None))
        return await asyncio.shield(task)

    async def _produce(self, key: str, real: str, kind: str, edge: int,
                       cover: str | None) -> Thumb:
        async with self._slots:
            # A request that looked in the cache while the same key was being made can
            # ask after that work is done and gone from ``_making``: it is on disk now.
            done = await asyncio.to_thread(self.cached, key)
            if done is not None:
                return done
            self.made += 1
            return await asyncio.to_thread(self._make, key, real, kind, edge, cover)

    def _make(self, key: str, real: str, kind: str, edge: int, cover: str | None) -> Thumb:
        jpeg, icon = self.paths(key)
        try:
            data = make_song(real, edge, cover) if kind == "audio" else MAKERS[kind](real, edge)
        except MemoryError:
            raise
        except Exception as exc:  # any decoder failure: show an icon, and remember that
            reason = undecodable_reason(exc, real)
            log.info("no picture of %s (%s); showing an icon", os.fsdecode(real), reason)
            self._keep(icon, f"broken\n{reason}\n".encode())
            return Thumb(key, None, "broken", reason)
        if data is None:  # a song without cover art: the music icon, remembered
            self._keep(icon, b"audio\nno cover art\n")
            return Thumb(key, None, "audio", "no cover art")
        self._keep(jpeg, data)
        return Thumb(key, data, None)

    def prune(self, generation_file: Path, *, grace_s: float = 3600.0) -> int:
        """Delete cached thumbnails of files that are gone or changed; returns how many.

        A thumbnail is kept if the generation at ``generation_file`` still has
        its (path, size, mtime_ns), or if it was written in the last
        ``grace_s`` seconds (it may belong to a change the next scan will see).
        Blocking: call it off the event loop.
        """
        from ..index.current import file_stats, reading  # scan-side; the server never prunes

        cutoff = time.time() - grace_s
        old = [entry for entry in _walk_files(self.directory) if _older(entry, cutoff)]
        if not old:  # a new cache (a first scan): no need to read a million rows
            return 0
        with reading(generation_file) as conn:
            live = live_keys(file_stats(conn))
        removed = 0
        for entry in old:
            if entry.name.partition(".")[0] not in live:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
        if removed:
            log.info("removed %d thumbnails of files that changed or are gone", removed)
        return removed

    def _keep(self, dest: Path, data: bytes) -> None:
        """Cache ``data`` on disk; a cache that cannot be written only costs time."""
        try:
            _write_atomic(dest, data)
        except OSError as exc:
            if self.status["cache"] == "ok":  # once per spell of failures, not per thumbnail
                log.warning("cannot write thumbnail cache %s: %s; thumbnails are made but not "
                            "kept until it can be written again", dest, exc)
            self.status.update({
                "cache": "failing",
                "error": f"{exc.strerror or exc} ({dest.parent})",
                "failed_writes": self.status["failed_writes"] + 1,
            })
            return
        if self.status["cache"] != "ok":
            log.info("thumbnail cache %s is written again", self.directory)
            self.status.update({"cache": "ok", "error": None})
