"""A big build's tables written by a process of their own, in a side file, then copied in.

Two parts of a full build of more than ``APART_FROM`` files need only the
committed ``files`` rows and a little of what the build gathered: the
``sort=taken`` order (``takenproc.py``) and the search tables
(``wordsproc.py``). Each runs as ``python -m mediasrv.scan.<module> BUILD SIDE
PARENT`` (started fresh, not forked: the scan process may have threads) on the
other core while the build writes the rest. What the child needs goes into its
side file (``BUILD`` + ``-<suffix>.tmp``: a crash leaves it under the cache dir's
``*.tmp`` rule) before it starts; it copies the build's rows it reads at once
(so the build's next write waits for that read only), writes its tables in the
side file and ends, and the build copies them in. The child dies with the scan
process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from .. import children

APART_FROM = 100_000  # files: a smaller build writes them in process (a start costs ~0.1 s)


def wanted(apart: bool, files: int) -> bool:
    """Whether a build of ``files`` files (allowed to, ``apart``) starts the children."""
    return apart and files >= APART_FROM


def connect(path: Path) -> sqlite3.Connection:
    """A connection to a side file (written once, never published: no journal)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE",
                   "cache_size = -16384"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def share(conn: sqlite3.Connection) -> None:
    """Let children read the build's committed rows: ``conn`` (``db.connect_build``'s)
    gives up its lock until its next write, and then waits for their reads (copies,
    ~0.7 s at 1M files)."""
    conn.execute("PRAGMA locking_mode = NORMAL")
    conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    conn.execute("PRAGMA busy_timeout = 120000")


class Child(NamedTuple):
    """Which child: ``python -m mediasrv.<module>``, named ``what`` in errors, whose side
    file is the build's path + ``-<suffix>.tmp``, and the tables it writes there."""

    module: str
    what: str
    suffix: str
    tables: tuple[str, ...]


class Side:
    """A ``child`` writing its tables of build ``build`` into its side file; ``copy_into``
    takes them. ``fill`` writes what the child reads into the side file before it starts."""

    def __init__(self, build: Path, child: Child,
                 fill: Callable[[sqlite3.Connection], None]) -> None:
        self.what, self.tables = child.what, child.tables
        self.side = Path(f"{build}-{child.suffix}.tmp")
        self.side.unlink(missing_ok=True)
        try:
            conn = connect(self.side)
            try:
                fill(conn)
            finally:
                conn.close()
            self.child = subprocess.Popen(
                children.command(child.module, str(build), str(self.side), str(os.getpid())),
                env=children.child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
        except BaseException:  # no child: nobody will close this
            self.side.unlink(missing_ok=True)
            raise

    def copy_into(self, conn: sqlite3.Connection) -> None:
        """Wait for the child, then copy its tables into ``conn``'s generation (outside a
        transaction: the side file is attached for the copy)."""
        _, err = self.child.communicate()
        if self.child.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines() or ["(nothing)"]
            raise RuntimeError(f"the {self.what} process ended with status "
                               f"{self.child.returncode}: {lines[-1]}")
        conn.execute("ATTACH DATABASE ? AS side", (str(self.side),))
        try:
            conn.execute("BEGIN")
            for table in self.tables:
                conn.execute(f"INSERT INTO main.{table} SELECT * FROM side.{table}")
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("DETACH DATABASE side")

    def close(self) -> None:
        """Stop the child if it still runs, and delete the side file."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        if self.child.stderr is not None:
            self.child.stderr.close()
        self.side.unlink(missing_ok=True)


def child_main(argv: Sequence[str],
               write: Callable[[sqlite3.Connection, Path], None]) -> int:
    """A child's ``main`` (ARGV: BUILD SIDE PARENT): ``write`` on a connection to SIDE,
    given BUILD, dying with PARENT."""
    build, side, parent = argv
    from .walkproc import die_with

    die_with(int(parent))
    conn = connect(Path(side))
    try:
        write(conn, Path(build))
    finally:
        conn.close()
    return 0
