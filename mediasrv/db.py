"""The one place that opens SQLite connections, sets their pragmas and knows the schema."""

from __future__ import annotations

import functools
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from .resources import resource_dir

# Text columns may hold bytes that are not UTF-8 (see names.db_text); read them
# back exactly. A C-level callable, so reading costs no Python frame per value.
TEXT_FACTORY = functools.partial(str, encoding="utf-8", errors="surrogateescape")


def is_decode_error(exc: sqlite3.Error) -> bool:
    """True for "Could not decode to UTF-8": plain decoding met a name that is not UTF-8.

    Plain ``str`` decoding is a third faster than TEXT_FACTORY, so readers try
    it first and repeat the query with TEXT_FACTORY only on this error.
    """
    return isinstance(exc, sqlite3.OperationalError) and "decode" in str(exc)


def fetch_all_exact(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[Any]:
    """``conn.execute(sql, params).fetchall()``, plain UTF-8 first, byte-exact if needed."""
    conn.text_factory = str
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if not is_decode_error(exc):
            raise
    conn.text_factory = TEXT_FACTORY
    return conn.execute(sql, params).fetchall()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@functools.cache
def migrations() -> tuple[Migration, ...]:
    """Every ``migrations/NNNN_*.sql`` in name order."""
    found = []
    for path in sorted(resource_dir("migrations").glob("[0-9][0-9][0-9][0-9]_*.sql")):
        found.append(Migration(int(path.name[:4]), path.stem, path.read_text("utf-8")))
    if not found:
        raise RuntimeError("no schema migrations found; is the installation complete?")
    return tuple(found)


def schema_version() -> int:
    """The schema version a current generation has: its newest migration's number."""
    return migrations()[-1].version


def split_statements(sql: str) -> list[str]:
    """Split a script into complete statements (comments and strings are respected)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in pending.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at end of migration: {pending[:80]!r}")
    return statements


def _is_index(statement: str) -> bool:
    words = [ln for ln in statement.splitlines() if not ln.lstrip().startswith("--")]
    head = " ".join(" ".join(words).split()[:3]).upper()
    return head.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX"))


def schema_statements() -> tuple[list[str], list[str]]:
    """All migrations' statements, split into (before the load, after the load).

    Indexes are created after the bulk load: building an index once over
    sorted data is several times faster than maintaining it row by row.
    """
    before, after = [], []
    for migration in migrations():
        for statement in split_statements(migration.sql):
            (after if _is_index(statement) else before).append(statement)
    return before, after


def connect_build(path: Path) -> sqlite3.Connection:
    """A connection for building a new generation file (never a published one)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Rollback-journal mode, never WAL: a published file must be readable with
    # immutable=1 and no -shm/-wal companions. Nothing else opens the file
    # while it is built, and a failed build is deleted, so no journal at all.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")  # the builder fsyncs once, at the end
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB while sorting indexes
    return conn


def _ro_uri(path: Path) -> str:
    # immutable=1: the file is never written after it is published, so SQLite
    # may skip locking and change detection altogether.
    return f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"


def _prepare(conn: sqlite3.Connection) -> None:
    conn.text_factory = TEXT_FACTORY
    conn.execute("PRAGMA query_only = ON")
    conn.execute("PRAGMA cache_size = -8192")  # 8 MiB page cache per connection


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection to a published generation."""
    conn = sqlite3.connect(_ro_uri(path), uri=True, check_same_thread=False)
    _prepare(conn)
    return conn


async def connect_ro_async(path: Path) -> aiosqlite.Connection:
    """A read-only aiosqlite connection to a published generation."""
    pending = aiosqlite.connect(_ro_uri(path), uri=True)
    # A connection someone forgot to close must never keep the process from
    # exiting; aiosqlite's worker thread is not a daemon by default.
    thread = getattr(pending, "_thread", None)
    if thread is not None and not thread.is_alive():
        thread.daemon = True
    conn = await pending
    try:
        # Plain UTF-8 decoding is the fast path; snapshot.Pool retries a query
        # with TEXT_FACTORY when a name that is not UTF-8 makes it fail.
        conn.text_factory = str
        await conn.execute("PRAGMA query_only = ON")
        await conn.execute("PRAGMA cache_size = -8192")
    except BaseException:
        await conn.close()
        raise
    return conn


class InvalidGeneration(Exception):
    """A generation file that cannot be served: corrupt, truncated or outdated."""


def read_meta(conn: sqlite3.Connection) -> dict[str, object]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def check_size(path: Path) -> None:
    """A file shorter than its header says is truncated (a crash mid-copy, a full disk)."""
    try:
        with open(path, "rb") as f:
            header = f.read(100)
            actual = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise InvalidGeneration(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise InvalidGeneration(f"{path} is not an SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The in-header size is valid when its change counter matches (bytes 24 and 92).
    if header[24:28] == header[92:96] and pages and actual < pages * page_size:
        raise InvalidGeneration(
            f"{path} is truncated: {actual} bytes, its header says {pages * page_size}"
        )


def validate(path: Path, *, thorough: bool = True) -> dict[str, object]:
    """Check that ``path`` is a complete generation of the current schema; return its meta.

    The quick checks (header, size, schema version, meta) cost well under a
    millisecond and catch a truncated or foreign file; ``thorough`` adds
    SQLite's ``quick_check``, which reads every page (seconds at 100k files).
    Raises InvalidGeneration saying why not.
    """
    check_size(path)
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InvalidGeneration(f"cannot open {path}: {exc}") from exc
    try:
        conn.text_factory = TEXT_FACTORY
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != schema_version():
            raise InvalidGeneration(
                f"{path} has schema version {version}, this mediasrv needs {schema_version()}"
            )
        if thorough:
            problems = conn.execute("PRAGMA quick_check").fetchall()
            if problems != [("ok",)]:
                raise InvalidGeneration(f"{path} is corrupt: {problems[0][0]}")
        meta = read_meta(conn)
        for key in ("generation", "root", "file_count"):
            if key not in meta:
                raise InvalidGeneration(f"{path} is incomplete: meta has no {key!r}")
        return meta
    except sqlite3.Error as exc:
        raise InvalidGeneration(f"{path} is unreadable: {exc}") from exc
    finally:
        conn.close()
