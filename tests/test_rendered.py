"""A page's files written by SQLite (snapshot/rendered.py) are byte for byte what Python
writes: each file's JSON (``file_dict``, orjson) and its grid tile (``tiles.py``)."""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.index.db import create_schema
from mediasrv.index.filerows import Audio
from mediasrv.names import db_text, is_url_plain
from mediasrv.server import tilerows
from mediasrv.server.render import with_query
from mediasrv.snapshot.base import AUDIO_JOIN, FILE_COLUMNS, file_dict
from mediasrv.snapshot.rendered import FILE_JSON, JSON_ESCAPED, Rendering, finish, written

# Names with what a URL, JSON or HTML escapes, letters beyond ASCII, and bytes that are
# not UTF-8 (lone surrogates, as the walk hands them over).
TEXT = list("aZ09 _.-~/()[]&'\"\\<>%#?+,;=@!$éü漢😀\t\n\x01\x7f")
CHARS = st.sampled_from([*TEXT, "\udce9"])
NAMES = st.text(CHARS, min_size=1, max_size=12).filter(lambda n: "/" not in n)
PATHS = st.lists(NAMES, min_size=1, max_size=3).map("/".join) | st.sampled_from(
    ["Trips/img2.jpg", "Trips/a b[beach].jpg", "Café/é.jpg", "x/caf\udce9.jpg", "A & B/it's.jpg"]
)
_HTML_OR_CONTROL = re.compile(r"[\x00-\x1f&<>\"']").search
KINDS = {"jpg": "image", "mp4": "video", "mp3": "audio", "txt": "other"}
# Tags are valid text; songs.song_of tidies their spaces (any Unicode space).
TAG_TEXT = st.none() | st.text(st.sampled_from([*TEXT, " ", "\xa0", "\u3000", "\x0b"]), max_size=8)
AUDIO = st.tuples(
    TAG_TEXT,
    TAG_TEXT,
    TAG_TEXT,
    TAG_TEXT,
    st.none() | st.integers(0, 99),
    st.none() | st.integers(0, 9),
    st.none() | st.integers(1900, 2100),
    TAG_TEXT,
)
DURATIONS = (
    st.none()
    | st.integers(0, 10**9).map(lambda ms: round(ms / 1000, 3))
    | st.floats(allow_nan=False, allow_infinity=False)
)
FILES = st.fixed_dictionaries(
    {
        "path": PATHS,
        "ext": st.sampled_from(sorted(KINDS)),
        "size": st.integers(0, 2**53),
        "mtime_ns": st.integers(-(2**62), 2**62),
        "width": st.none() | st.integers(0, 10_000),
        "height": st.none() | st.integers(0, 10_000),
        "duration": DURATIONS,
        "taken_ns": st.none() | st.integers(-(2**62), 2**62),
        "audio": st.none() | AUDIO,
    }
)


@functools.cache
def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    create_schema(conn)
    return conn


def _store(files: list[dict[str, Any]]) -> sqlite3.Connection:
    conn = _db()
    conn.execute("DELETE FROM files")
    conn.execute("DELETE FROM file_audio")
    seen = set()
    for n, file in enumerate(files):
        path = f"{file['path']}.{file['ext']}"
        if path in seen:
            continue
        seen.add(path)
        shown, raw = db_text(path)
        conn.execute(
            "INSERT INTO files (id, folder_id, pos, path, path_bytes, name, ext, kind, size,"
            " mtime_ns, width, height, duration, taken_ns)"
            " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                n,
                n,
                shown,
                raw,
                shown.rpartition("/")[2],
                file["ext"],
                KINDS[file["ext"]],
                file["size"],
                file["mtime_ns"],
                file["width"],
                file["height"],
                file["duration"],
                file["taken_ns"],
            ),
        )
        if file["audio"] is not None and KINDS[file["ext"]] == "audio":
            conn.execute(
                f"INSERT INTO file_audio VALUES (?{', ?' * len(Audio._fields)})",
                (n, *file["audio"]),
            )
    return conn


def _compare(conn: sqlite3.Connection, rendering: Rendering) -> list[Any]:
    """Assert that ``finish`` gives each file Python's text; return the rows SQLite wrote."""
    at = "f.id + 1000"  # a position unlike the id
    rows = conn.execute(
        f"SELECT 0, {at}, {written(rendering.sql, rendering.where, at)}, f.id, f.path"
        f" FROM files AS f {AUDIO_JOIN} ORDER BY f.id",
        rendering.params,
    ).fetchall()
    files = [
        file_dict(r)
        for r in conn.execute(f"SELECT {FILE_COLUMNS} FROM files AS f {AUDIO_JOIN} ORDER BY f.id")
    ]
    want = [
        (file["path"], rendering.python({**file, "favourite": False}, n + 1000))
        for n, file in zip((r[3] for r in rows), files, strict=True)
    ]
    assert finish(conn, rows, rendering) == want
    return [r for r in rows if r[2] is not None]


def _common(row: tuple[Any, ...], duration: float | None) -> bool:
    """Whether SQLite must write this file (``COMMON``): valid UTF-8, a duration that
    round-trips through the 15 digits SQLite writes (1e14 + 0.5 does not)."""
    return row[1] is None and (
        duration is None or (0.001 <= duration < 1e15 and float(f"{duration:.15g}") == duration)
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FILES, min_size=1, max_size=6))
def test_a_files_json_is_what_python_writes(files: list[dict[str, Any]]) -> None:
    conn = _store(files)
    written_ids = {r[3] for r in _compare(conn, FILE_JSON)}
    for file_id, raw, duration in conn.execute("SELECT id, path_bytes, duration FROM files"):
        if _common((file_id, raw), duration):
            assert file_id in written_ids  # the SQL path is the one taken


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(FILES, min_size=1, max_size=6),
    st.sampled_from(["All", "a b & c", "é/x"]),
    st.sampled_from(["name", "taken"]),
    st.booleans(),
)
def test_a_files_tile_is_what_python_writes(
    files: list[dict[str, Any]], tag: str, sort: str, star: bool
) -> None:
    conn = _store(files)
    written_ids = {r[3] for r in _compare(conn, tilerows.rendering(tag, sort, star=star))}
    for file_id, raw, duration, kind in conn.execute(
        "SELECT id, path_bytes, duration, kind FROM files"
    ):
        if _common((file_id, raw), duration) and (kind != "audio" or _plain_song(conn, file_id)):
            assert file_id in written_ids


def _plain_song(conn: sqlite3.Connection, file_id: int) -> bool:
    """Whether a song's title and artist tags show as they are (SQLite writes its tile)."""
    found = conn.execute(
        f"SELECT a.title, a.artist, a.album_artist FROM files AS f {AUDIO_JOIN} WHERE f.id = ?",
        (file_id,),
    ).fetchone()
    return all(
        tag is None or (" ".join(tag.split()) == tag != "" and not _HTML_OR_CONTROL(tag))
        for tag in found
    )


def test_plain_and_quoted_paths_and_the_escapes_left_to_python() -> None:
    conn = _store(
        [
            {
                "path": p,
                "ext": "jpg",
                "size": 5,
                "mtime_ns": 7,
                "width": 4,
                "height": 3,
                "duration": None,
                "taken_ns": None,
                "audio": None,
            }
            for p in ["Trips/img2", "Trips/a b[1]", 'say "hi"', "x/caf\udce9"]
        ]
    )
    rows = conn.execute(
        f"SELECT 0, f.id, {written(FILE_JSON.sql, FILE_JSON.where, 'f.id')}, f.id, f.path"
        f" FROM files AS f {AUDIO_JOIN} ORDER BY f.id"
    ).fetchall()
    got = [json.loads(text) for _, text in finish(conn, rows, FILE_JSON)]  # \udce9: json
    assert [f["url"] for f in got] == [
        "/media/Trips/img2.jpg",
        "/media/Trips/a%20b%5B1%5D.jpg",
        "/media/say%20%22hi%22.jpg",
        "/media/x/caf%E9.jpg",
    ]
    assert [r[2] is not None for r in rows] == [True, True, True, False]  # not UTF-8: Python
    assert got[0]["thumb_url"] == "/thumb/Trips/img2.jpg?v=5-7"
    assert got[0]["favourite"] is False
    assert is_url_plain("Trips/img2.jpg") and JSON_ESCAPED('say "hi"')


@given(
    st.dictionaries(
        st.sampled_from(["q", "sort", "page", "tag"]),
        st.none() | st.text(CHARS, max_size=6) | st.sampled_from(["2", "taken"]),
    )
)
def test_with_querys_shortcut_is_urlencodes_answer(query: dict[str, str | None]) -> None:
    given = {k: v.encode("utf-8", "surrogateescape") for k, v in query.items() if v is not None}
    want = f"/tag/x?{urlencode(given)}" if given else "/tag/x"
    assert with_query("/tag/x", **query) == want


def test_a_songs_tile_shows_its_tags_written_by_sqlite() -> None:
    song = {"size": 5, "mtime_ns": 7, "width": None, "height": None, "duration": 1.5}
    songs = [
        ("Album/01 a", ("Hey Jude", "The Beatles", None, None, 1, None, 1968, None)),
        ("Album/02 b", (None, None, "Abbey Road", "The Beatles", 2, None, None, None)),
        ("Album/03 c", ("Two  spaces", None, None, None, 3, None, None, None)),  # Python
        ("Album/04 d", ("Tom & Jerry", None, None, None, 4, None, None, None)),  # Python
    ]
    conn = _store(
        [
            {**song, "path": path, "ext": "mp3", "taken_ns": None, "audio": tags}
            for path, tags in songs
        ]
    )
    rows = _compare(conn, tilerows.rendering("All", "name"))
    assert [r[3] for r in rows] == [0, 1]
    first = rows[0][2]
    assert '<span class="name">Hey Jude</span>\n<span class="artist">\x01' not in first
    assert '<span class="name">Hey Jude</span>\n<span class="artist">The Beatles</span>' in first
    assert 'src="/thumb/\x01?v=5-7-song" srcset="/thumb/\x01?v=5-7-song&amp;w=640 2x"' in first
    assert (
        '<span class="name">02 b.mp3</span>\n<span class="artist">The Beatles</span>' in rows[1][2]
    )
