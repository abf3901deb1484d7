"""Read the cheap metadata of media files: image size, video size and duration, audio
duration, when a photo or video was taken (``dates.py``), a photo's or video's camera
and place (``details.py``), a song's tags (``songs.py``).

The scan process probes only new and changed files (unchanged ones carry their
metadata over from the current generation). A probe reads headers, never
pixels: Pillow's ``Image.open`` parses the header lazily, and PyAV's
``av.open`` reads the container's index. A file that cannot be read stays
unprobed and is counted; it never fails a scan.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import BinaryIO

from PIL import Image

from ..index.filerows import Probed
from ..media.images import open_image, register_formats
from ..names import display
from . import sniff, songs
from .dates import exif_time, video_taken
from .details import exif_details, video_details
from .walk import Record

log = logging.getLogger(__name__)

PROBED_KINDS = ("image", "video", "audio")
# Below this many videos and songs a thread pool costs more than it saves.
POOL_THRESHOLD = 16
MAX_WORKERS = 4
# Bump when probing learns something new: files of older generations are probed again.
# 2: HEIC and HEIF (pillow-heif) and AVIF are read.
# 3: the date taken (EXIF DateTimeOriginal, a video's creation_time).
# 4: camera, lens, exposure and place (file_details); songs' tags (file_audio, mutagen).
PROBE_VERSION = 4
# A server's first scan of more media files than this publishes before probing
# them: a big library is browsable at once (probing 100k photos on a cold disk
# can take minutes), and the metadata follows in the next scan.
DEFER_OVER = 1000


_ORIENTATION = 0x0112  # the EXIF tag
_SIDEWAYS = (5, 6, 7, 8)  # orientations that turn the picture by 90 degrees
_EXIF_IFD = 0x8769  # the Exif sub-IFD, where the dates taken are
# When a photo was taken, best first: (the date, its UTC offset, its fraction
# of a second) of DateTimeOriginal, then of DateTimeDigitized. IFD0's DateTime
# (0x0132) is when the file was last edited: never read as the date taken.
_TAKEN_TAGS = ((0x9003, 0x9011, 0x9291), (0x9004, 0x9012, 0x9292))


class ProbeError(Exception):
    """A file whose metadata could not be read."""


class NotMedia(ProbeError):
    """A file whose first bytes are those of no picture, video or sound format."""


@dataclass
class ProbeStats:
    """How many files a scan probed, and what became of them."""

    candidates: int = 0  # new or changed media files
    probed: int = 0  # files opened and read successfully
    failed: int = 0  # files opened that could not be read (corrupt, unsupported)
    skipped: int = 0  # empty files and formats no prober reads, never opened
    rejected: int = 0  # of the failed: not media by their first bytes, no decoder asked
    deferred: int = 0  # media files left for the next scan (a big first scan)
    seconds: float = 0.0
    examples: list[str] | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wants_probe(rec: Record) -> bool:
    """Whether ``rec`` is a media file that probing could tell something about."""
    return rec.kind in PROBED_KINDS and rec.size > 0


def probe_file(path: str, kind: str) -> Probed:
    """The metadata of one file; raises ProbeError if it cannot be read (NotMedia: not media)."""
    head = sniff.read_head(path)
    if not sniff.looks_like_media(head):
        raise NotMedia(f"not a media file (it starts with {head[:8]!r})")
    try:
        if kind == "image":
            return _probe_image(path)
        if kind == "audio" and _by_mutagen(path):
            try:
                return songs.probe_song(path)
            except songs.NotASong as exc:  # perhaps FFmpeg can read it
                log.debug("mutagen cannot read %s (%s): asking PyAV", display(path), exc)
        if kind in ("video", "audio"):
            return _probe_av(path, kind)
    except ProbeError:
        raise
    except Exception as exc:  # any decoder's complaint means "unreadable"
        raise ProbeError(f"{type(exc).__name__}: {exc}") from exc
    raise ProbeError(f"no prober for kind {kind!r}")


def _by_mutagen(path: str) -> bool:
    return path.rpartition(".")[2].lower() in songs.EXTS


def _probe_image(path: str) -> Probed:
    """A picture's shown size, when it was taken by its EXIF (see ``_exif_taken``), and its
    camera, lens, exposure and place (``details.image_details``)."""
    taken = details = None
    # open() reads the header only; pixels are decoded by load(), never called here.
    with open_image(path) as im:
        width, height = im.size
        # Only EXIF found with the header is read (PNG's getexif() would
        # otherwise decode the whole image to look for it).
        if "exif" in im.info:
            exif = im.getexif()
            # Phones store portrait photos sideways and say so in EXIF: report
            # the size as the picture is shown.
            if exif.get(_ORIENTATION) in _SIDEWAYS:
                width, height = height, width
            taken, details = _exif_taken(exif), exif_details(exif)
    if width <= 0 or height <= 0:
        raise ProbeError(f"bad image size {width}x{height}")
    return Probed(width=int(width), height=int(height), taken_ns=taken, details=details)


def _exif_taken(exif: Image.Exif) -> int | None:
    """ns since the epoch (UTC) when the photo was taken, by its EXIF; None if it says not.

    DateTimeOriginal with OffsetTimeOriginal and SubSecTimeOriginal; failing
    that (absent or unreadable), DateTimeDigitized with its own two. A time
    without a (readable) offset is naive and is read in the local time zone of
    this process (``datetime(...).timestamp()``), so ``TZ`` decides it. A
    blank, zero or garbage date, or a broken Exif IFD, gives None: a bad date
    never costs the picture its size.
    """
    try:
        ifd = exif.get_ifd(_EXIF_IFD)
        for date, offset, subsec in _TAKEN_TAGS:
            ns = exif_time(ifd.get(date), ifd.get(offset), ifd.get(subsec))
            if ns is not None:
                return ns
    except Exception as exc:  # whatever a broken IFD makes Pillow raise
        log.debug("unreadable Exif IFD: %s: %s", type(exc).__name__, exc)
    return None


def _probe_av(path: str, kind: str) -> Probed:
    import av

    with _av_source(path) as source, av.open(source, metadata_errors="ignore") as container:
        duration: float | None = None
        total = getattr(container, "duration", None)  # an input container's, in time_base
        if total is not None and total > 0:
            duration = total / av.time_base
        width = height = taken = details = None
        if kind == "video":
            video = next(iter(container.streams.video), None)
            if video is None:
                raise ProbeError("no video stream")
            width, height = video.codec_context.width or None, video.codec_context.height or None
            if duration is None and video.duration and video.time_base:
                duration = float(video.duration * video.time_base)
            taken = video_taken(container.metadata)  # songs have no "date taken"
            details = video_details(container.metadata)
        elif not container.streams.audio:
            raise ProbeError("no audio stream")
    if duration is None and width is None:
        raise ProbeError("neither a duration nor a picture size")
    return Probed(width=width, height=height,
                  duration=round(duration, 3) if duration is not None else None,
                  taken_ns=taken, details=details)


@contextlib.contextmanager
def _av_source(path: str) -> Iterator[str | BinaryIO]:
    """A path PyAV can take, or an open file for names that are not valid UTF-8."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        with open(path, "rb") as f:
            yield f
        return
    yield path


def probe_records(
    root: str,
    records: Sequence[Record],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    progress_every: float = 0.2,
) -> tuple[dict[str, Probed], ProbeStats]:
    """Probe ``records`` (files under ``root``); returns {path: Probed} and counts.

    ``progress(done, total)`` is called now and then from the calling thread.
    """
    started = time.perf_counter()
    stats = ProbeStats(candidates=len(records), examples=[])
    todo = _worth_probing(records, stats)
    found: dict[str, Probed] = {}
    lock = threading.Lock()

    def one(rec: Record) -> None:
        try:
            result = probe_file(os.path.join(root, rec.path), rec.kind)
        except (ProbeError, OSError) as exc:
            with lock:
                stats.failed += 1
                stats.rejected += isinstance(exc, NotMedia)
                if stats.examples is not None and len(stats.examples) < 20:
                    stats.examples.append(f"{display(rec.path)}: {exc}")
            log.debug("not probed: %s (%s)", display(rec.path), exc)
            return
        with lock:
            stats.probed += 1
            found[rec.path] = result

    total = len(todo)
    tick = _Ticker(total, progress, progress_every)
    if progress:
        progress(0, total)
    count = workers if workers is not None else min(MAX_WORKERS, os.cpu_count() or 1)
    _run(todo, one, tick, count)
    if progress:
        progress(total, total)
    stats.seconds = round(time.perf_counter() - started, 3)
    return found, stats


def _worth_probing(records: Sequence[Record], stats: ProbeStats) -> list[Record]:
    """The records a prober can read; the others are counted as skipped."""
    todo: list[Record] = []
    images = register_formats() if any(r.kind == "image" for r in records) else frozenset()
    for rec in records:
        if not wants_probe(rec) or (rec.kind == "image" and rec.ext not in images):
            stats.skipped += 1
        else:
            todo.append(rec)
    return todo


class _Ticker:
    """Counts probed files; calls ``progress(done, total)`` at most every ``every`` seconds."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None,
                 every: float) -> None:
        self.total, self.progress, self.every = total, progress, every
        self.done = 0
        self.next_report = time.monotonic() + every

    def __call__(self) -> None:
        self.done += 1
        if self.progress and time.monotonic() >= self.next_report:
            self.progress(self.done, self.total)
            self.next_report = time.monotonic() + self.every


def _run(todo: list[Record], one: Callable[[Record], None], tick: Callable[[], None],
         count: int) -> None:
    """Call ``one`` on each of ``todo``: videos and songs on ``count`` threads, if that pays.

    Images (and songs mutagen reads) are parsed in Python, under the GIL:
    threads only slow them down (measured: 330 warm JPEGs 0.039 s serial,
    0.064 s on 4 threads). FFmpeg opens containers without the GIL: threads
    overlap them (300 MP4s 0.17 s serial, 0.10 s on 2 threads), and overlap
    waiting on a slow disk.
    """
    image_todo = [r for r in todo if r.kind == "image" or r.ext in songs.EXTS]
    av_todo = [r for r in todo if not (r.kind == "image" or r.ext in songs.EXTS)]
    # Decoders may warn about odd files; a warning is not a reason to give up on one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(av_todo) < POOL_THRESHOLD or count <= 1:
            for rec in todo:
                one(rec)
                tick()
        else:
            with ThreadPoolExecutor(count, thread_name_prefix="probe") as pool:
                pending = [pool.submit(one, rec) for rec in av_todo]
                for rec in image_todo:  # meanwhile, on this thread
                    one(rec)
                    tick()
                for future in pending:
                    future.result()
                    tick()
