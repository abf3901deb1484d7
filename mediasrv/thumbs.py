"""Thumbnails: made on first request off the event loop, kept on disk, reused across rescans.

A thumbnail is keyed by what it shows: the file's relative path, its size and
its mtime_ns (plus the thumbnail size and a format version). A rescan that
leaves a file alone leaves its key alone, so the cached thumbnail stays valid;
a file that changes gets a new key. A file that cannot be decoded (corrupt, a
format Pillow or FFmpeg does not read, audio, documents) gets a kind icon, and
that outcome is cached too, so a broken file is tried once, not on every view.

Layout under ``<cache dir>/thumbs/``::

    ab/abcdef….jpg     a made thumbnail (JPEG)
    ab/abcdef….icon    no picture could be made: the icon name to show instead
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageOps

from .images import open_image, register_formats

log = logging.getLogger(__name__)

SIZE = 320  # longest side, pixels: sharp on a 2x phone screen in a 2- or 3-column grid
VERSION = 2  # bump when the way thumbnails are made changes; old ones are simply not used
# (2: HEIC, HEIF and AVIF are read; version 1 had cached them as broken)
QUALITY = 82
MAX_FRAMES = 250  # decoded at most, looking for the poster frame (frames without times)
ICONS = ("image", "video", "audio", "other", "broken")


@dataclass(frozen=True)
class Thumb:
    """What to send for one thumbnail: JPEG bytes, or the name of an icon."""

    key: str
    jpeg: bytes | None
    icon: str | None


def etag(key: str) -> str:
    """The ETag of thumbnail ``key``: the key names the content, so it names the result."""
    return f'"t{VERSION}-{key[:32]}"'


@dataclass(frozen=True)
class Lookup:
    """A thumbnail's key, the file's version (``size-mtime_ns``) and the cached result."""

    key: str
    version: str
    found: Thumb | None


def thumb_key(path: str, size: int, mtime_ns: int, edge: int = SIZE) -> str:
    """The cache key of ``path`` at ``size`` bytes and ``mtime_ns``: a hex digest."""
    h = hashlib.sha256()
    h.update(f"v{VERSION}\0{edge}\0{size}\0{mtime_ns}\0".encode())
    h.update(path.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _walk_files(directory: Path) -> list[os.DirEntry[str]]:
    """Files one level below ``directory``'s subfolders (the cache's layout)."""
    found: list[os.DirEntry[str]] = []
    with contextlib.suppress(FileNotFoundError):
        for folder in os.scandir(directory):
            if folder.is_dir(follow_symlinks=False):
                with os.scandir(folder.path) as it:
                    found.extend(e for e in it if e.is_file(follow_symlinks=False))
    return found


def make_image(source: str, edge: int = SIZE) -> bytes:
    """A JPEG thumbnail of the picture at ``source``; raises if it cannot be read."""
    with open_image(source) as img:
        img.draft("RGB", (edge, edge))  # JPEG: decode at 1/2..1/8 scale, much faster
        img.seek(0)
        img.load()
        return _jpeg(ImageOps.exif_transpose(img), edge)


def make_video(source: str, edge: int = SIZE) -> bytes:
    """A JPEG poster frame of the video at ``source`` (a tenth of the way in, at most 5 s)."""
    import av

    with av.open(source) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = _seconds(stream.duration, stream.time_base)
        if duration is None and container.duration:
            duration = container.duration / 1_000_000
        target = min((duration or 0) / 10, 5.0)
        frame = None
        if target > 0 and stream.time_base:
            with contextlib.suppress(av.error.FFmpegError):
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
        for count, frame in enumerate(container.decode(stream)):
            if (frame.time or 0) >= target or count >= MAX_FRAMES:
                break
        if frame is None:  # a seek past the end: start again from the top
            container.seek(0, stream=stream)
            frame = next(container.decode(stream), None)
        if frame is None:
            raise ValueError("no video frame could be decoded")
        return _jpeg(frame.to_image(), edge)


def _seconds(value: int | None, base: Fraction | None) -> float | None:
    return float(value * base) if value is not None and base else None


def _jpeg(img: Image.Image, edge: int) -> bytes:
    if img.mode not in ("RGB", "L"):
        background = Image.new("RGB", img.size, (24, 26, 30))
        rgba = img.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        img = background
    img.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def _write_atomic(dest: Path, data: bytes) -> None:
    """Write ``dest`` under a temp name and rename it: a reader never sees half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


MAKERS: dict[str, Callable[[str, int], bytes]] = {"image": make_image, "video": make_video}


class Thumbnailer:
    """Makes and caches thumbnails; at most ``workers`` are made at a time."""

    def __init__(self, directory: Path, *, workers: int | None = None, edge: int = SIZE) -> None:
        self.directory = Path(directory)
        self.edge = edge
        # Now, not at the first picture: whatever else in this process opens
        # pictures with Pillow reads HEIC too.
        register_formats()
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._slots = asyncio.Semaphore(self.workers)
        self._making: dict[str, asyncio.Task[Thumb]] = {}
        self.made = 0  # thumbnails made (or found undecodable) by this process

    def paths(self, key: str) -> tuple[Path, Path]:
        folder = self.directory / key[:2]
        return folder / f"{key}.jpg", folder / f"{key}.icon"

    def cached(self, key: str) -> Thumb | None:
        """The thumbnail for ``key`` if it was made before (by any process)."""
        jpeg, icon = self.paths(key)
        with contextlib.suppress(FileNotFoundError):
            return Thumb(key, jpeg.read_bytes(), None)
        try:
            name = icon.read_text().strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return Thumb(key, None, name if name in ICONS else "broken")

    def look_up(self, path: str, real: str, kind: str) -> Lookup:
        """What is known of ``path``'s thumbnail, from the file as it is on disk now.

        Blocking (a stat and a read): call it off the event loop. Raises
        OSError if the file is gone.
        """
        st = os.stat(real)
        key = thumb_key(path, st.st_size, st.st_mtime_ns, self.edge)
        if kind not in MAKERS:
            found: Thumb | None = Thumb(key, None, kind if kind in ICONS else "other")
        else:
            found = self.cached(key)
        return Lookup(key, f"{st.st_size}-{st.st_mtime_ns}", found)

    async def make(self, key: str, real: str, kind: str) -> Thumb:
        """Make the thumbnail ``key`` of ``real``, at most ``workers`` at a time."""
        task = self._making.get(key)
        if task is None:
            # Its own task, not the request's: a client that goes away does not
            # waste the work, and everyone asking for the same key shares it.
            task = asyncio.get_running_loop().create_task(self._produce(key, real, kind))
            self._making[key] = task
            task.add_done_callback(lambda _: self._making.pop(key, None))
        return await asyncio.shield(task)

    async def _produce(self, key: str, real: str, kind: str) -> Thumb:
        async with self._slots:
            self.made += 1
            return await asyncio.to_thread(self._make, key, real, kind)

    def _make(self, key: str, real: str, kind: str) -> Thumb:
        jpeg, icon = self.paths(key)
        try:
            data = MAKERS[kind](real, self.edge)
        except MemoryError:
            raise
        except Exception as exc:  # any decoder failure: show an icon, and remember that
            log.info("no thumbnail for %s (%s: %s); showing an icon", os.fsdecode(real),
                     type(exc).__name__, exc)
            self._keep(icon, b"broken\n")
            return Thumb(key, None, "broken")
        self._keep(jpeg, data)
        return Thumb(key, data, None)

    def prune(self, generation_file: Path, *, grace_s: float = 3600.0) -> int:
        """Delete cached thumbnails of files that are gone or changed; returns how many.

        A thumbnail is kept if the generation at ``generation_file`` still has
        its (path, size, mtime_ns), or if it was written in the last
        ``grace_s`` seconds (it may belong to a change the next scan will see).
        Blocking: call it off the event loop.
        """
        from .generation import file_stats  # scan-side reading; the server never prunes

        rows = file_stats(generation_file)
        live = {thumb_key(path, size, mtime_ns, self.edge) for path, size, mtime_ns in rows}
        cutoff = time.time() - grace_s
        removed = 0
        for entry in _walk_files(self.directory):
            key = entry.name.partition(".")[0]
            if key in live:
                continue
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        if removed:
            log.info("removed %d thumbnails of files that changed or are gone", removed)
        return removed

    @staticmethod
    def _keep(dest: Path, data: bytes) -> None:
        """Cache ``data`` on disk; a cache that cannot be written only costs time."""
        try:
            _write_atomic(dest, data)
        except OSError as exc:
            log.warning("cannot write thumbnail cache %s: %s", dest, exc)
