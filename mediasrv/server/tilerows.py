"""A grid page's tiles written by SQLite: ``tiles.py``'s HTML of each file, in one query.

A tile made in Python takes a file dict, a tile dict and its HTML: ~3.5 µs a tile,
60 a page. ``rendering`` gives ``Snapshot.page_rendered`` the same HTML as one
``printf`` (``snapshot/rendered.py``) for the files it can write: not a path with a
character HTML escapes (``&<>"'``), and not a song whose title or artist tags are not
plain (``songs.song_of`` tidies their spaces; HTML escapes them), which Python writes.
Every other part of a tile is a URL (percent-encoded: nothing to escape) or a number.
A song's tile shows its title tag (else its file name) and its artist (else album
artist) tag: a page of 60 holds a few songs, and one written by Python cost the page
a second query and ~5 µs of Python a song.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..media.thumbs import SIZE_2X
from ..snapshot.rendered import Rendering
from .render import quote_segment, sort_param, tile, view_url, with_query
from .tiles import tile_html

# What a path must not hold for SQLite to write its tile (JSON's and HTML's escapes).
_ESCAPED = re.compile(r"[\x00-\x1f\"\\&<>']").search
_THUMB = "/thumb/%s?v=%d-%d"  # {url}, f.size, f.mtime_ns
_STAR = (
    '<button type="button" class="star" data-api="/api/favourites?path=%s"'
    ' aria-pressed="false" aria-label="Favourite: %s" title="Favourite (f)">&#9733;</button>'
)


def _printf(kind: str, sized: bool, star: bool, artist: bool = False) -> str:
    """``tiles.tile_html`` of ``render.tile`` for a file of ``kind`` (not starred), with
    its picture's size or not (a song: its artist or not), as one flat ``printf`` (nested
    ones and ``||`` cost more)."""
    pictured = kind != "other"  # a song's cover too, or its icon
    args = ["{position}"]
    size = ""
    if sized:
        size, args = ' data-w="%d" data-h="%d"', [*args, "f.width", "f.height"]
    thumb = _THUMB + ("-song" if kind == "audio" else "")
    srcset = f' srcset="{thumb}&amp;w={SIZE_2X} 2x"' if pictured else ""
    badge = "" if kind == "image" else f'<span class="badge">{kind}</span>'
    text = (
        f'<li id="f%d"{size}>\n'
        f'<a class="tile kind-{kind}" href="%s%s%s" title="%s">\n'
        f'<img src="{thumb}"{srcset} alt="" loading="lazy" decoding="async"'
        ' width="320" height="320">\n'
        f'{badge}<span class="name">%s</span>\n'
        f"{_ARTIST if artist else ''}</a>\n"
        f"{_STAR if star else ''}</li>\n"
    )
    urls = ["{url}", "f.size", "f.mtime_ns"]
    args += [
        ":view",
        "{url}",
        ":view_query",
        "f.path",
        *urls,
        *(urls if pictured else []),
        _TITLE if kind == "audio" else "f.name",
        *([_BY] if artist else []),
        *(["{url}", _TITLE if kind == "audio" else "f.name"] if star else []),
    ]
    return f"printf('{text}', {', '.join(args)})"


def _sql(star: bool) -> str:
    sized = "f.width AND f.height"  # the picture's size, when known (and not 0)
    cases = [
        f"WHEN f.kind = '{kind}' AND {sized} THEN {_printf(kind, True, star)}"
        f" WHEN f.kind = '{kind}' THEN {_printf(kind, False, star)}"
        for kind in ("image", "video")
    ]
    cases.append(
        f"WHEN f.kind = 'audio' AND {_BY} IS NOT NULL THEN {_printf('audio', False, star, True)}"
        f" WHEN f.kind = 'audio' THEN {_printf('audio', False, star)}"
    )
    return f"CASE {' '.join(cases)} ELSE {_printf('other', False, star)} END"


def _plain(tag: str) -> str:
    """SQL: ``tag`` (a column of ``a``) shows as it is: none, or one line of words with
    one space between them (``songs._line`` leaves it as it is) and nothing HTML escapes."""
    return f"({tag} IS NULL OR ({tag} NOT GLOB :unplain AND ' ' || {tag} || ' ' NOT GLOB '*  *'))"


# What a plain tag holds none of: what HTML escapes, control characters (\x01 is where
# the URL goes) and the spaces ``str.split`` splits at but the space itself (two spaces
# in a row, or one at either end, are caught by ``_plain``'s second GLOB).
_UNPLAIN = (
    "*[&<>\"'"
    + "".join(c for c in map(chr, range(1, 0x3001)) if (c.isspace() and c != " ") or c < " ")
    + "]*"
)
_TITLE = "coalesce(a.title, f.name)"  # songs.song_of, for plain tags
_BY = "coalesce(a.artist, a.album_artist)"
_ARTIST = '<span class="artist">%s</span>'
_TAGS = " AND ".join(_plain(f"a.{tag}") for tag in ("title", "artist", "album_artist"))
_SONGS = f"f.kind <> 'audio' OR ({_TAGS})"  # the files SQLite writes


_SQL = {star: _sql(star) for star in (True, False)}


@functools.lru_cache(maxsize=64)  # a few tags' grids are browsed at a time
def rendering(tag: str, sort: str, *, star: bool = True) -> Rendering:
    """Each file of a page of ``tag`` in ``sort`` order as its grid tile (``star``: with
    its ★ button), linking to its viewer in that order."""

    def python(file: dict[str, Any], position: int) -> str:
        return tile_html(tile(file, view_url(tag, file, sort=sort), star=star), position)

    # (quote_segment escapes every control character: the one \x01 is where the path goes)
    view = with_query(f"/view/{quote_segment(tag)}/\x01", sort=sort_param(sort))
    prefix, _, query = view.partition("\x01")
    return Rendering(
        _SQL[star],
        python,
        unwritten=_ESCAPED,
        where=_SONGS,
        params={"view": prefix, "view_query": query, "unplain": _UNPLAIN},
    )
