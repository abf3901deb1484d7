"""The cache directory: generation files, the current.db pointer, locks and start-up repair."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from ..errors import UserError
from . import db

log = logging.getLogger(__name__)

Written = TypeVar("Written")

_GEN = re.compile(r"^gen-(\d{6,})\.db(\.tmp)?$")
_ANY_GEN = re.compile(r"^gen-(\d{6,})\.db")  # also set-aside files: numbers never repeat


def default_cache_dir(root: Path) -> Path:
    """``$XDG_CACHE_HOME/mediasrv/<root-name>-<hash of the root path>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    real = os.path.realpath(root)
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:10]
    name = os.path.basename(real.rstrip(os.sep)) or "root"
    return Path(base) / "mediasrv" / f"{name}-{digest}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LockBusy(Exception):
    """Another process holds the lock."""


class CacheDir:
    """One library's cache directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def current(self) -> Path:
        return self.path / "current.db"

    @property
    def thumbs(self) -> Path:
        return self.path / "thumbs"

    def gen_path(self, number: int) -> Path:
        return self.path / f"gen-{number:06d}.db"

    def tmp_path(self, number: int) -> Path:
        return self.path / f"gen-{number:06d}.db.tmp"

    @staticmethod
    def number_of(path: Path) -> int | None:
        match = _GEN.match(Path(path).name)
        return int(match.group(1)) if match else None

    def ensure(self) -> None:
        """Create the directory; a clear UserError if it cannot be written."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UserError(f"cache dir {self.path} is not writable: {reason}") from exc

    def generations(self) -> dict[int, Path]:
        """Published generation files on disk, by number."""
        found = {}
        for entry in os.scandir(self.path):
            match = _GEN.match(entry.name)
            if match and not match.group(2):
                found[int(match.group(1))] = Path(entry.path)
        return found

    def current_target(self) -> Path | None:
        """The generation file current.db points at, or None."""
        try:
            target = os.readlink(self.current)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # a plain file, not a link: not ours
                return self.current
            raise
        return self.path / target

    def next_number(self) -> int:
        """A generation number higher than any on disk, temp and set-aside files included."""
        highest = 0
        for entry in os.scandir(self.path):
            match = _ANY_GEN.match(entry.name)
            if match:
                highest = max(highest, int(match.group(1)))
        target = self.current_target()
        if target is not None and (n := self.number_of(target)) is not None:
            highest = max(highest, n)
        return highest + 1

    def publish(self, number: int, write: Callable[[Path], Written], *,
                durable: bool = True) -> tuple[Path, Written]:
        """Write generation ``number`` (``write(temp path)``), then make it current.

        The one way a generation file comes to be, full build or delta: it is
        written under its temp name and renamed into place only when whole; on
        any error the temp file is removed and the current generation stays.
        Returns the published file and what ``write`` returned.
        """
        tmp = self.tmp_path(number)
        tmp.unlink(missing_ok=True)
        try:
            written = write(tmp)
            final = self._make_current(tmp, number, durable=durable)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise
        return final, written

    def _make_current(self, tmp: Path, number: int, *, durable: bool) -> Path:
        """Make a finished build current (and durable, unless ``durable`` is off).

        Order matters for a crash at any point: fsync the file, rename it to
        its final name, fsync the directory, then repoint current.db by
        renaming a new symlink over it (rename is atomic) and fsync again.
        A delta build skips the file's fsync (docs/DESIGN.md, "Durability"):
        the index can always be rebuilt, and start-up checks catch a file that
        a power cut left incomplete.
        """
        final = self.gen_path(number)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, final)
        fsync_dir(self.path)
        self.point_current_at(final)
        return final

    def point_current_at(self, final: Path) -> None:
        link = self.path / f"current.db.{os.getpid()}.link"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(final.name, link)
        os.replace(link, self.current)
        fsync_dir(self.path)

    @contextlib.contextmanager
    def lock(self, name: str, *, wait: bool) -> Iterator[None]:
        """An exclusive flock on ``name.lock``; released when the process dies, too."""
        fd = os.open(self.path / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise LockBusy(name) from exc
            yield
        finally:
            os.close(fd)

    def hold_lock(self, name: str) -> int:
        """Take ``name.lock`` for the life of the process (or until the fd is closed)."""
        fd = os.open(self.path / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise LockBusy(name) from exc
        return fd

    def remove_temp_files(self, *, expected: bool = False) -> int:
        """Delete builds a crash left behind, unless a scan is running right now.

        ``expected``: the caller killed that scan itself (at shutdown), which is no news.
        """
        removed = 0
        level = logging.INFO if expected else logging.WARNING
        try:
            with self.lock("scan", wait=False):
                for entry in os.scandir(self.path):
                    if entry.name.endswith(".tmp") or entry.name.endswith(".link"):
                        log.log(level, "removing leftover %s from an interrupted scan",
                                entry.name)
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(entry.path)
                        removed += 1
        except LockBusy:
            log.info("a scan is running; leaving its temp files alone")
        return removed

    def set_aside(self, path: Path, why: str) -> Path:
        """Move an unusable generation out of the way, keeping the newest of each kind."""
        suffix = "outdated" if "schema version" in why else "corrupt"
        for old in self.path.glob(f"*.{suffix}"):
            old.unlink(missing_ok=True)
        aside = path.with_name(f"{path.name}.{int(time.time())}.{suffix}")
        os.replace(path, aside)
        with contextlib.suppress(FileNotFoundError):
            if self.current.is_symlink() and not self.current.exists():
                self.current.unlink()
        log.warning("set aside %s: %s (now %s)", path.name, why, aside.name)
        return aside

    def usable_current(self, *, thorough: bool = True) -> tuple[Path, dict[str, object]] | None:
        """The current generation if it is valid and of the current schema.

        A corrupt, truncated or outdated one is set aside (and will be rebuilt).
        """
        target = self.current_target()
        if target is None:
            return None
        if not target.exists():
            # The link stays: its number keeps generation numbers increasing.
            log.warning("current.db points at missing %s; rebuilding", target.name)
            return None
        try:
            meta = db.validate(target, thorough=thorough)
        except db.InvalidGeneration as exc:
            self.set_aside(target, str(exc))
            return None
        if target == self.current:  # a plain file where our link should be
            number = int(str(meta["generation"]))
            final = self.gen_path(number)
            os.replace(target, final)
            self.point_current_at(final)
            target = final
        return target, meta

    def repair(self) -> tuple[Path, dict[str, object]] | None:
        """At start-up: clear what a crash left, and return the current generation if usable.

        Only the cheap checks run here (a large library is served at once);
        the caller reads every page afterwards.
        """
        self.ensure()
        self.remove_temp_files()
        found = self.usable_current(thorough=False)
        self.remove_stale_generations({found[0]} if found else set())
        return found

    def remove_stale_generations(self, keep: set[Path]) -> None:
        """Delete generation files nobody serves (left by a crash or by `mediasrv scan`).

        Only those older than the newest kept: a scan may publish between the listing
        and the reading of current.db (its new file listed, current.db not yet moved
        on), and that generation is not stale but about to be served.
        """
        found = self.generations()
        keep_real = {p.resolve() for p in keep}
        current = self.current_target()
        if current is not None:
            keep_real.add(current.resolve())
        kept = [n for n, path in found.items() if path.resolve() in keep_real]
        newest = max(kept) if kept else None
        for number, path in found.items():
            if path.resolve() not in keep_real and (newest is None or number < newest):
                log.info("removing stale generation %s", path.name)
                self.delete_generation(path)

    def delete_generation(self, path: Path) -> None:
        """Delete a published generation file nobody reads any more.

        The one place generation files are deleted; who decides when is the
        server's library (after a generation's last lease, or once it is
        stale) and start-up repair. Unlinking is safe even with connections
        still open: they keep reading the inode until they close.
        """
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s: %s", path.name, exc)
