"""The files a first walk found, kept in a temporary SQLite file rather than in Python.

A cold build of a million files held a Python ``Record``, a natural-order key
and the sort's permutation per file while it walked and built: ~600 MB of
the scan process's 1.2 GB peak. ``Staged`` writes each folder's files as the
walk lists them into a table of the scan's own temporary file in the cache
directory (``staging-*.db.tmp``, deleted when the scan ends; start-up removes
one a crash left behind, as it does a build's), with the natural-order key as
a BLOB: UTF-8 keeps code point order, so ``ORDER BY key, path`` is exactly
``sorted`` over ``natural_key`` (``surrogatepass`` keeps the lone surrogates
that stand for a name's bytes that are not UTF-8). Every build of the walk
(``progressive.py``'s parts and the final one) reads the files back in that
order, one at a time (``fullbuild.write_ordered``), or, when each folder came in
one batch and nothing was probed, have SQLite write the ``files`` rows straight
from it (``stagedrows.py``): each row also holds its folder (numbered as the
walk found them), its position in the folder's natural order, and whether its
path is valid UTF-8, and ``Staged`` keeps each folder's first file's key.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from ..names import blob, ext_of_path, is_clean, kind_of, unblob
from ..natural import NaturalKeys
from .probe import PROBED_KINDS
from .walk import Record

# The staging file's page cache: its rows are written once in walk order and read
# back through SQLite's sorter, which spills to a temporary file past this.
CACHE_KIB = 16 * 1024


class StagedFolder(NamedTuple):
    """A folder of the walk: its path, its first file's natural key, its files, the rows
    staged once its files were in (the files of it and of the folders before it), and
    the distinct names staged by then (with the rest of the batch it came in)."""

    path: str
    first: tuple[str, str]
    files: int
    end: int
    names: int


class Staged:
    """Every file a walk found so far: ``len``, iterated in walk order, or ``ordered``."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(prefix="staging-", suffix=".db.tmp", dir=directory)
        os.close(fd)
        self.path = Path(name)
        self._conn = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "temp_store = FILE",
            f"cache_size = -{CACHE_KIB}",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(
            "CREATE TABLE staged (key BLOB NOT NULL, path BLOB NOT NULL,"
            " size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, folder INTEGER NOT NULL,"
            " pos INTEGER NOT NULL, odd INTEGER NOT NULL)"
        )
        self._keys = NaturalKeys()
        self._count = 0
        # Each folder as the walk found it (numbered from 1 in that order): its path,
        # its first file's natural key, its files, and the rows staged once it was in.
        self.folders: list[StagedFolder] = []
        self._numbers: dict[str, int] = {}
        # Files a prober could read (``probe.wants_probe``): a first build of more than
        # ``probe.DEFER_OVER`` is published before probing, without a pass over every file.
        self.media = 0
        self._media_name: dict[str, bool] = {}
        self.whole_folders = True  # no folder came in two batches: positions hold
        # Clear while another thread's build reads the file (``progressive.py``): ``add``
        # waits for it, so that the read is never locked out by this one's writes.
        self.free = threading.Event()
        self.free.set()

    def add(self, records: Sequence[Record]) -> None:
        """One folder's files (or any batch), as the walk lists them."""
        self.free.wait()
        made = self._keys
        made.add([r[0] for r in records])
        keys, made.keys = made.keys, []
        in_folder: dict[str, list[int]] = {}
        for i, (_, path) in enumerate(keys):
            in_folder.setdefault(path.rpartition("/")[0], []).append(i)
        rows: list[tuple[bytes, bytes, int, int, int, int, int]] = []
        for folder, found in in_folder.items():
            number = self._numbers.get(folder)
            if number is None:
                number = self._numbers[folder] = len(self.folders) + 1
            else:  # its positions from this batch would start at 0 again
                self.whole_folders = False
            # Each file's place in its folder's natural order; rows keep the walk's order.
            ranked = sorted(found, key=keys.__getitem__)
            pos_of = dict(zip(ranked, range(len(ranked)), strict=True))
            media = self._media_name
            for i in found:
                key, path = keys[i]
                rec = records[i]
                if rec[1] > 0:
                    name = path[len(folder) + 1 if folder else 0:]
                    known = media.get(name)
                    if known is None:
                        known = media[name] = kind_of(ext_of_path(name)) in PROBED_KINDS
                    self.media += known
                rows.append((blob(key), blob(path), rec[1], rec[2], number, pos_of[i],
                             0 if path.isascii() or is_clean(path) else 1))
            self._count += len(found)
            self.folders.append(StagedFolder(folder, keys[ranked[0]], len(found), self._count,
                                             len(made.tails)))
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def names(self, first: int | None = None) -> list[str]:
        """Every distinct file name staged so far; ``first``: of the first files (whole
        folders), and maybe a few more (those of the rest of their last batch)."""
        if first is None:
            return list(self._keys.tails)
        at = bisect.bisect_left(self.folders, first, key=attrgetter("end"))
        return list(itertools.islice(self._keys.tails, self.folders[at].names)) if first else []

    def commit(self) -> None:
        """Commit what was added, for another connection to read."""
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")

    def attach(self, conn: sqlite3.Connection, schema: str) -> None:
        """Make the staged rows readable to ``conn`` (another connection, the build's) as
        ``schema``.staged. In the thread that adds, what was added is committed first;
        another thread's build is started after a ``commit`` with ``free`` cleared."""
        if self.free.is_set():
            self.commit()
        conn.execute("ATTACH DATABASE ? AS " + schema, (str(self.path),))

    def read_done(self) -> None:
        """A build has read what it needs: ``add`` may write again."""
        self.free.set()

    def __len__(self) -> int:
        return self._count

    def whole(self, files: int) -> int:
        """The most files, at most ``files``, that whole folders staged first hold."""
        at = bisect.bisect_right(self.folders, files, key=attrgetter("end"))
        return self.folders[at - 1].end if at else 0

    def __iter__(self) -> Iterator[Record]:
        """In the order the walk found them."""
        return self._read("SELECT path, size, mtime_ns FROM staged")

    def sized(self) -> Iterator[Record]:
        """The files that are not empty, in the order the walk found them: what a cold
        build's probing looks through when ``media`` says some are media files."""
        return self._read("SELECT path, size, mtime_ns FROM staged WHERE size > 0")

    def ordered(self, first: int | None = None) -> Iterator[Record]:
        """In natural order (``natural.natural_key``); ``first``: only the first files the
        walk found (rows are only ever appended, so their rowids count them)."""
        if first is None:
            return self._read("SELECT path, size, mtime_ns FROM staged ORDER BY key, path")
        return self._read("SELECT path, size, mtime_ns FROM staged WHERE rowid <= ?"
                          " ORDER BY key, path", (first,))

    def _read(self, sql: str, args: tuple[int, ...] = ()) -> Iterator[Record]:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        for path, size, mtime_ns in self._conn.execute(sql, args):
            yield Record(unblob(path), size, mtime_ns)

    def close(self) -> None:
        """Delete the file."""
        self._conn.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
