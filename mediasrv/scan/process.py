"""The scan process: one low-priority process that stays up and runs every scan the server asks for.

``python -m mediasrv.scan.process ROOT CACHE_DIR`` lowers its priority once
(nice 19, idle I/O), imports what a scan needs (what probing videos needs
only once the first scan is answered), then reads one request a line on stdin::

    {"id": 7, "paths": ["Trips/2024", "Music/a.mp3"]}   (null: walk everything)

and answers with JSON lines on stdout, each carrying the request's id: any
number of progress events, then exactly one ``result`` or ``error`` (and once,
at start-up, ``{"type": "ready", "id": null}`` when its imports are done)::

    {"type": "progress", "id": 7, "phase": "walking", "files": 1200}
    {"type": "result", "id": 7, "status": "published", "generation": 42, ...}  (ScanResult)
    {"type": "error", "id": 7, "message": "the disk is full (...)"}

A request that cannot be read is answered by an ``error`` (with ``"id": null``
if it had none). After a result that published a generation, at most every
``PRUNE_EVERY_S``, the process deletes the thumbnails of files that changed or
are gone and says ``{"type": "pruned", "id": 7, "removed": 3}``; that is after
the result, so it never delays a swap. Then it gives the memory the scan
used back to the system and waits for the next request; it exits with status
0 when stdin closes. Staying up saves an interpreter start and the imports
(~0.2 s) per scan; being a process of its own keeps the scan's CPU and GIL out
of the server's.

The server's end is ``serve/scanprocess.ScanProcess``: it starts the process, sends
one request at a time and turns the process's death into a failed scan with the
reason. Lines, start-up and stopping are the same as every child's (``children/``).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import IO, Any

from ..children import LineTooLong, emit, ignore_sigint
from ..errors import MediasrvError

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 6 * 3600  # thumbnails of changed and deleted files go at most this often


class _BadRequest(ValueError):
    def __init__(self, message: str, request_id: int | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


def parse_request(line: bytes) -> tuple[int, list[str] | None]:
    """(id, paths) of one request line; _BadRequest if it is not one."""
    try:
        request = json.loads(line)
    except ValueError as exc:
        raise _BadRequest(f"not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise _BadRequest("a request is a JSON object")
    request_id, paths = request.get("id"), request.get("paths")
    if not isinstance(request_id, int) or isinstance(request_id, bool):
        raise _BadRequest("a request needs an integer id")
    if paths is not None and not (
        isinstance(paths, list) and all(isinstance(p, str) for p in paths)
    ):
        raise _BadRequest("paths must be a list of strings or null", request_id)
    return request_id, paths


class ScanService:
    """The scan process's state: where to scan, and when thumbnails were last pruned."""

    def __init__(self, root: Path, cache_dir: Path, out: IO[str], *,
                 prune_every: float = PRUNE_EVERY_S) -> None:
        from ..index.cachedir import CacheDir

        self.root = root
        self.cache = CacheDir(cache_dir)
        self.out = out
        self.prune_every = prune_every
        self.last_prune = float("-inf")

    def emit(self, message: dict[str, Any]) -> None:
        emit(self.out, message)

    def handle(self, line: bytes) -> None:
        """Answer one request line."""
        from . import job  # imported at start-up (main); looked up here so tests can wrap it

        try:
            request_id, paths = parse_request(line)
        except _BadRequest as exc:
            self.emit({"type": "error", "id": exc.request_id, "message": f"bad request: {exc}"})
            return
        try:
            result = job.run_scan(
                self.root, self.cache,
                lambda event: self.emit({"type": "progress", "id": request_id, **event}),
                defer_probing=True, paths=paths,
            )
        except Exception as exc:  # reported to the coordinator, which keeps serving
            message = job.describe_failure(exc)
            if isinstance(exc, MediasrvError | OSError | sqlite3.Error):
                log.error("%s", message)  # the world's fault (disk, permissions): one line
            else:
                log.exception("scan failed")  # ours: the traceback is what to fix it with
            self.emit({"type": "error", "id": request_id, "message": message})
            return
        answer = result.as_dict()
        try:
            self.emit({"type": "result", "id": request_id, **answer})
        except LineTooLong:  # the moves' paths, not escaped yet, were within moves.MAX_CHARS
            log.warning("%d moved files are too many to report; favourites stay where they were",
                        len(result.moves))
            self.emit({"type": "result", "id": request_id, **answer, "moves": []})
        if answer.get("status") == "published":
            self.maybe_prune(request_id, Path(str(answer["db_path"])))

    def maybe_prune(self, request_id: int, generation_file: Path) -> None:
        """Drop thumbnails of files changed or gone since they were made (not too often).

        Reads every row of the new generation: scan-side work, never the server's.
        """
        from ..media.thumbs import Thumbnailer

        if time.monotonic() - self.last_prune < self.prune_every:
            return
        self.last_prune = time.monotonic()
        try:
            removed = Thumbnailer(self.cache.thumbs).prune(generation_file)
        except (OSError, sqlite3.Error) as exc:  # e.g. that generation was retired meanwhile
            log.warning("thumbnail pruning skipped: %s", exc)
            return
        self.emit({"type": "pruned", "id": request_id, "removed": removed})


def release_memory() -> bool:
    """Give the memory a finished scan used back to the system; False if malloc cannot trim.

    A scan's records are freed when it ends, but glibc keeps the freed heap:
    an idle scan process stayed at 87 MB after scanning 100k files, 56 MB trimmed
    (46 MB before any scan). A one-shot scan process gave it all back by exiting.
    """
    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    if trim is None:
        return False
    trim(0)
    return True


def _protocol_stream() -> IO[str]:
    """Our own copy of stdout for the protocol; fd 1 then points at stderr.

    A C library (FFmpeg, say) that prints to stdout would otherwise corrupt
    the JSON lines the server reads.
    """
    sys.stdout.flush()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return out


def main(argv: list[str] | None = None) -> int:
    """The scan process: requests on stdin, JSON lines on stdout, logs on stderr."""
    parser = argparse.ArgumentParser(
        prog="python -m mediasrv.scan.process",
        description="Run scans for a mediasrv server: JSON requests on stdin, answers on stdout.",
    )
    parser.add_argument("root", type=Path)
    parser.add_argument("cache_dir", type=Path)
    parser.add_argument("--prune-every", type=float, default=PRUNE_EVERY_S, metavar="SECONDS",
                        help="prune thumbnails at most this often (default: %(default)s)")
    args = parser.parse_args(argv)
    # "LEVEL message": the server logs each line at that level (scanprocess.relay_level).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    ignore_sigint()
    from . import job

    job.lower_priority()
    service = ScanService(args.root, args.cache_dir, _protocol_stream(),
                          prune_every=args.prune_every)
    service.emit({"type": "ready", "id": None})  # started: from now on, silence means stuck
    warm = False
    for line in sys.stdin.buffer:
        if line.strip():
            service.handle(line)
            if not warm:
                warm_up()
                warm = True
            release_memory()  # idle until the next request: hold no more than needed
    return 0


def warm_up() -> None:
    """Import what probing videos and thumbnails need, once the first scan is answered
    (PyAV and the thumbnailer: ~0.1 s of a start-up of ~0.25 s).

    Not before it: the first scan of an empty cache publishes names only (probing
    is deferred) and its first part is waited for; the scan that probes comes next.
    """
    import av  # noqa: F401
    import PIL.Image  # noqa: F401

    from ..media import thumbs  # noqa: F401


if __name__ == "__main__":
    sys.exit(main())
