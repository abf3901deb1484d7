"""A page's files as text made by SQLite: each file's JSON object or grid tile in one call.

Making a Python dict per file per request (``file_dict``) and then a tile or JSON of
it cost ~1.5 µs a file in CPython, more than SQLite spends finding the row. A
``Rendering`` says how to write a file as text twice: ``sql``, one ``printf`` that
SQLite evaluates beside the page query for the common rows, and ``python``, the exact
same text from a file dict, for the rest (and for the in-RAM backend). The common
rows are those whose text needs nothing SQLite cannot do (``COMMON``): a valid UTF-8
path (shown as itself) without ``"``, ``\\`` or control characters (written as they
are in JSON and HTML), and a duration whose shortest decimal SQLite writes. URL
quoting is the one step left to Python for them: ``printf`` writes ``MARK`` where the
file's URL goes, a plain path (``names.is_url_plain``) is its own URL, and the others
are quoted (memoised, ``base.quoted``). A favourite's text is its ``python`` one: the
SQL writes every file as not starred (``StarredSnapshot`` rewrites the few starred
ones). ``tests/test_rendered.py`` checks that both give the same text for random names.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from ..index.filerows import Audio
from ..names import is_url_plain
from . import base
from .base import Rendering

MARK = "\x01"  # where a file's quoted path goes (a written path has no control character)
# A row SQLite writes (see the module's docstring): a valid UTF-8 path, and a duration
# that round-trips through the 15 digits SQLite writes (durations are rounded to
# milliseconds: always). Which characters of a path SQLite may write as they are is
# tested in Python (``Rendering.unwritten``): GLOB with a character class costs ~1 µs.
COMMON = (
    "f.path_bytes IS NULL AND (f.duration IS NULL OR (f.duration >= 0.001"
    " AND f.duration < 1e15 AND CAST(CAST(f.duration AS TEXT) AS REAL) = f.duration))"
)
JSON_ESCAPED = base.JSON_ESCAPED


def written(sql: str, where: str, position: str) -> str:
    """The SQL of a page's rendered column (a ``Rendering``'s ``sql`` and ``where``, the
    position's expression): the text of a common row, else NULL."""
    text = sql.replace("{position}", position).replace("{url}", "char(1)")
    return f"CASE WHEN {COMMON} AND ({where}) THEN {text} END"


def finish(
    conn: sqlite3.Connection, rows: Sequence[Sequence[Any]], rendering: Rendering
) -> list[tuple[str, str]]:
    """(path, text) of each file of a page's rows (anything, position, text or None, id,
    path; in the reader's thread): each URL put in, the files SQLite could not write
    written by Python."""
    out: list[tuple[str, str | None]] = []
    others = []
    for _, position, text, file_id, path in rows:
        if file_id is None:  # a tag without files, or past its end
            continue
        if text is not None:
            if is_url_plain(path):  # its own URL: nothing to escape either
                out.append((path, text.replace(MARK, path)))
                continue
            if not rendering.unwritten(path):
                out.append((path, text.replace(MARK, base.quoted(path))))
                continue
        out.append((path, None))
        others.append((len(out) - 1, position, file_id))
    if others:
        found = conn.execute(
            f"SELECT f.id, {base.FILE_COLUMNS} FROM files AS f {base.AUDIO_JOIN}"
            " WHERE f.id IN (SELECT value FROM json_each(?))",
            (json.dumps([file_id for _, _, file_id in others]),),
        )
        files = {r[0]: base.file_dict(r[1:]) for r in found}
        for at, position, file_id in others:
            file = {**files[file_id], "favourite": False}
            out[at] = (file["path"], rendering.python(file, position))
    return out  # type: ignore[return-value]  # every None was replaced


def file_json(file: dict[str, Any], position: int = 0) -> str:
    """A file as the API writes it (orjson's bytes; ``json``'s for a name that is not
    UTF-8, as ``server/encode.py`` does)."""
    try:
        return orjson.dumps(file).decode()
    except orjson.JSONEncodeError:
        return json.dumps(file, separators=(",", ":"))


_AUDIO = "json_object(" + ", ".join(f"'{c}', a.{c}" for c in Audio._fields) + ")"
# ``file_dict``'s keys in its order, as printf writes them; then ``favourite``.
_JSON_SQL = (
    """printf('{"path":"%s","name":"%s","ext":"%s","kind":"%s","size":%d,"mtime_ns":%d,"""
    """"width":%s,"height":%s,"duration":%s,"taken_ns":%s,"audio":%s,"display_path":"%s","""
    """"name_guessed":false,"url":"/media/%s","thumb_url":"/thumb/%s?v=%d-%d%s","""
    """"favourite":false}', f.path, f.name, f.ext, f.kind, f.size, f.mtime_ns,"""
    " coalesce(f.width, 'null'), coalesce(f.height, 'null'), coalesce(f.duration, 'null'),"
    f" coalesce(f.taken_ns, 'null'), CASE WHEN f.kind = 'audio' THEN {_AUDIO} ELSE 'null' END,"
    " f.path, {url}, {url}, f.size, f.mtime_ns,"
    " CASE WHEN f.kind = 'audio' THEN '-song' ELSE '' END)"
)
FILE_JSON = Rendering(_JSON_SQL, file_json)
