"""The one place that opens SQLite connections, sets their pragmas and knows the schema."""

from __future__ import annotations

import functools
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ..resources import resource_dir


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


def create_schema(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration in order to an empty file; return the indexes, dropped.

    Indexes are created after the bulk load (``CREATE`` each returned
    statement then): building an index once over sorted data is several times
    faster than maintaining it row by row. Later migrations may drop and
    replace what earlier ones made, so the indexes are read from the result.
    """
    for migration in migrations():
        for statement in split_statements(migration.sql):
            conn.execute(statement)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
        " ORDER BY name"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in indexes]


def connect_build(path: Path) -> sqlite3.Connection:
    """A connection that writes a generation file not yet published (never a published one)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # Rollback-journal mode, never WAL: a published file must be readable with
    # immutable=1 and no -shm/-wal companions. Nothing else opens the file
    # while it is written, and a failed build is deleted, so no journal at all.
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")  # the builder decides when to fsync
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    # Sorts bigger than the cache spill to a temporary file, not to memory: at a
    # million files the name_words sort (3.5M rows) alone held ~110 MB in memory.
    conn.execute("PRAGMA temp_store = FILE")
    conn.execute("PRAGMA cache_size = -16384")  # 16 MiB while sorting indexes
    return conn


def _ro_uri(path: Path) -> str:
    # immutable=1: the file is never written after it is published, so SQLite
    # may skip locking and change detection altogether.
    return f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1"


# What every read connection to a generation runs first, sync or async alike.
# Every TEXT value of a generation is valid UTF-8 (names that are not keep
# their bytes in BLOB columns), so the default text factory reads them all.
READ_PRAGMAS = (
    "PRAGMA query_only = ON",
    "PRAGMA cache_size = -8192",  # 8 MiB page cache per connection
)


def prepare_connection(conn: sqlite3.Connection) -> None:
    """Set up a read connection to a generation (READ_PRAGMAS)."""
    for pragma in READ_PRAGMAS:
        conn.execute(pragma)


def connect_ro(path: Path) -> sqlite3.Connection:
    """A read-only connection to a published generation."""
    conn = sqlite3.connect(_ro_uri(path), uri=True, check_same_thread=False)
    prepare_connection(conn)
    return conn


def connect_user(path: Path) -> sqlite3.Connection:
    """A connection that writes user data (favourites.db), never a generation.

    Rollback journal (``journal_mode=DELETE``), not WAL: the file is written
    as a private copy and renamed into place (``mediasrv.userdata.store``), so
    it must be whole without a ``-wal`` beside it.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        # Leaving WAL (a file of version 1) moves what its -wal holds into it.
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA synchronous = FULL")  # once answered, it survives a power cut
    except BaseException:
        conn.close()
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
        return checked_meta(conn, path, thorough=thorough)
    finally:
        conn.close()


def checked_meta(conn: sqlite3.Connection, path: Path, *, thorough: bool) -> dict[str, object]:
    """``validate``'s checks after the size, on a connection already open to ``path``."""
    try:
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
