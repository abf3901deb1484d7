"""Walk a library root and describe every file in it, one record per file."""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..errors import ScanFailed
from ..names import display, ext_of_path, is_clean, kind_of

log = logging.getLogger(__name__)


class Record(NamedTuple):
    """One file as the walk found it."""

    path: str  # relative to the root, '/'-separated
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def ext(self) -> str:
        return ext_of_path(self.path)

    @property
    def kind(self) -> str:
        return kind_of(ext_of_path(self.path))


# How loud each kind of skip is. A file or folder deleted while the walk runs
# is what a rescan is for (a delete seen by the watcher walks the gone folder):
# counted, not news. A link out of the root is a choice someone made. A folder
# we may not read, or another error, needs a person.
NOTE_LEVELS = {"vanished": logging.DEBUG, "outside_links": logging.INFO}


@dataclass
class WalkStats:
    """What the walk passed over, and why. None of it ends a scan."""

    files: int = 0
    folders: int = 0
    unreadable: int = 0  # folders we may not list
    vanished: int = 0  # gone between listing and stat
    outside_links: int = 0  # symlinks leading out of the root, not followed
    loops: int = 0  # symlinked folders already walked
    undecodable: int = 0  # names that are not valid UTF-8, carried byte-exact
    linked_folders: int = 0  # symlinks to folders inside the root (followed once)
    errors: int = 0  # any other OS error
    examples: list[str] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.unreadable + self.vanished + self.outside_links + self.errors

    def note(self, what: str, path: str, exc: BaseException | None = None) -> None:
        setattr(self, what, getattr(self, what) + 1)
        message = f"{what}: {display(path)}" + (
            f" ({exc.strerror or exc})" if isinstance(exc, OSError) else ""
        )
        if len(self.examples) < 20:
            self.examples.append(message)
        log.log(NOTE_LEVELS.get(what, logging.WARNING), "%s", message)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "folders": self.folders,
            "unreadable": self.unreadable,
            "vanished": self.vanished,
            "outside_links": self.outside_links,
            "loops": self.loops,
            "undecodable": self.undecodable,
            "linked_folders": self.linked_folders,
            "errors": self.errors,
            "skipped": self.skipped,
            "examples": list(self.examples),
        }


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk(
    root: Path,
    *,
    exclude: list[Path] | None = None,
    stats: WalkStats | None = None,
    progress: Callable[[WalkStats], None] | None = None,
    progress_every: float = 0.2,
    start: str = "",
) -> Iterator[Record]:
    """Yield a Record for every regular file below ``root`` (or below its folder ``start``).

    See ``walk_folders``, which lists the same folders.
    """
    for _, records in walk_folders(root, exclude=exclude, stats=stats, progress=progress,
                                   progress_every=progress_every, start=start):
        yield from records


def walk_folders(
    root: Path,
    *,
    exclude: list[Path] | None = None,
    stats: WalkStats | None = None,
    progress: Callable[[WalkStats], None] | None = None,
    progress_every: float = 0.2,
    start: str = "",
    cls: type = Record,
) -> Iterator[tuple[str, list[Record]]]:
    """Yield (relative path, its files' Records) for every folder below ``root`` (or
    below its folder ``start``) that could be listed; '' is the root. ``cls=tuple``:
    plain tuples of the same fields (``list_folder``).

    Hidden entries (names starting with a dot) and the ``exclude`` folders
    (the cache dir, when it lies inside the root) are passed over. Symlinks
    are followed only when they lead to a place inside the root; a symlinked
    folder is walked once even if several links lead to it (each one is
    counted in ``stats.linked_folders``). Unreadable folders and files that
    vanish mid-walk are counted in ``stats``, logged, and passed over.
    """
    stats = stats if stats is not None else WalkStats()
    root_real = os.path.realpath(root)
    excluded = {os.path.realpath(p) for p in exclude or ()}
    seen_dirs: set[tuple[int, int]] = set()
    top = os.path.join(root_real, start) if start else root_real
    try:
        st = os.stat(top)
    except OSError as exc:
        if not os.path.isdir(root_real):
            raise RootGone(root_real) from exc
        stats.note("unreadable", start or str(root), exc)
        return
    seen_dirs.add((st.st_dev, st.st_ino))
    stack: list[tuple[str, str]] = [(top, start + "/" if start else "")]
    next_report = time.monotonic() + progress_every

    while stack:
        folder, prefix = stack.pop()
        listed = list_folder(folder, prefix, root_real, excluded, stats, cls)
        if listed is None:
            continue
        records, subfolders = listed
        yield prefix[:-1], records
        fresh = []
        # Real folders before links to them, then name order: which path wins is stable.
        for sub in sorted(subfolders, key=lambda s: (s.linked, s.rel)):
            stats.linked_folders += sub.linked
            if sub.key in seen_dirs:
                stats.loops += 1
                continue
            seen_dirs.add(sub.key)
            fresh.append((sub.real, sub.rel + "/"))
        # Depth-first, in name order, so progress moves through the tree as a
        # person would read it.
        stack.extend(sorted(fresh, reverse=True))
        if progress is not None and time.monotonic() >= next_report:
            progress(stats)
            next_report = time.monotonic() + progress_every


class RootGone(ScanFailed):
    """The root itself vanished mid-walk (renamed, moved, unmounted): the walk saw too little.

    Publishing what it found would serve a library with most of its files
    missing, so the scan fails instead and the current generation stays.
    """

    def __init__(self, root: str) -> None:
        super().__init__(f"the library root {display(root)} went away during the scan "
                         "(renamed, moved or unmounted); nothing was published")
        self.root = root

    def __reduce__(self) -> tuple[type[RootGone], tuple[str]]:  # raised again across a pipe
        return RootGone, (self.root,)


class Subfolder(NamedTuple):
    real: str  # where it is (a link's target)
    rel: str  # relative path from the root, no trailing '/'
    linked: bool  # reached through a symlink
    key: tuple[int, int]  # (st_dev, st_ino)


def _entries(
    folder: str, where: str, root_real: str, stats: WalkStats
) -> tuple[list[os.DirEntry[str]], int] | None:
    """The entries of ``folder`` (``where``: its relative path) and the folder opened, its
    files to be stat-ed by name (``dir_fd``: the kernel looks up one name, not the whole
    path again: 2.25 s -> 1.92 s of stats at 1M files); None if it cannot be listed."""
    fd = -1
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        with os.scandir(folder) as it:
            return list(it), fd
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        if not isinstance(exc, OSError):
            raise
        _not_listed(exc, where, root_real, stats)
        return None


def _not_listed(exc: OSError, where: str, root_real: str, stats: WalkStats) -> None:
    """Count a folder that could not be listed; the root gone fails the walk."""
    if isinstance(exc, FileNotFoundError):
        if not os.path.isdir(root_real):  # the whole library went away, not one folder
            raise RootGone(root_real) from exc
        stats.note("vanished", where, exc)
    elif isinstance(exc, PermissionError):
        stats.note("unreadable", where, exc)
    else:
        stats.note("errors", where, exc)


def list_folder(
    folder: str, prefix: str, root_real: str, excluded: set[str], stats: WalkStats,
    cls: type = Record,
) -> tuple[list[Record], list[Subfolder]] | None:
    """The files and subfolders of one folder (``prefix`` is its relative path plus '/').

    None when the folder cannot be listed (counted in ``stats``). ``cls=tuple``
    makes plain tuples of the same fields (what ``marshal`` sends).
    """
    stats.folders += 1
    listed = _entries(folder, prefix.rstrip("/") or ".", root_real, stats)
    if listed is None:
        return None
    entries, fd = listed
    try:
        return _listed(entries, fd, prefix, root_real, excluded, stats, cls)
    finally:
        os.close(fd)


def _listed(
    entries: list[os.DirEntry[str]], fd: int, prefix: str, root_real: str,
    excluded: set[str], stats: WalkStats, cls: type,
) -> tuple[list[Record], list[Subfolder]]:
    """``list_folder`` of a folder listed and opened (``fd``). One loop body per entry,
    kept whole: it is the walk's hot path (one stat per file)."""
    records: list[Record] = []
    subfolders: list[Subfolder] = []
    append, new = records.append, tuple.__new__  # Record(...) costs a Python frame per file
    stat_in, is_file, is_link = os.stat, stat.S_ISREG, stat.S_ISLNK
    for entry in entries:
        name = entry.name
        if name[0] == ".":
            continue
        rel = prefix + name
        try:
            # One syscall per entry: a stat by name in the opened folder (lstat: a link
            # is told by it). Not the listing's type: where a file system gives none,
            # DirEntry.is_file() would stat the whole path first.
            st = stat_in(name, dir_fd=fd, follow_symlinks=False)
            if is_file(st.st_mode):  # nearly every entry
                if not name.isascii() and not is_clean(name):
                    stats.undecodable += 1
                append(new(cls, (rel, st.st_size, st.st_mtime_ns)))
                continue
            linked = is_link(st.st_mode)
            if linked:
                target = os.path.realpath(entry.path)
                if not _inside(target, root_real):
                    stats.note("outside_links", rel)
                    continue
                st = os.stat(target)
            else:
                target = entry.path
        except FileNotFoundError as exc:
            stats.note("vanished", rel, exc)
            continue
        except OSError as exc:
            stats.note("errors", rel, exc)
            continue

        if stat.S_ISDIR(st.st_mode):
            if target not in excluded:
                subfolders.append(Subfolder(target, rel, linked, (st.st_dev, st.st_ino)))
        elif stat.S_ISREG(st.st_mode):  # a link to a file inside the root
            append(new(cls, (rel, st.st_size, st.st_mtime_ns)))
        # sockets, fifos and devices are not media
    stats.files += len(records)
    return records, subfolders
