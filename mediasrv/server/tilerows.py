"""A grid page's tiles written by SQLite: ``tiles.py``'s HTML of each file, in one query.

A tile made in Python takes a file dict, a tile dict and its HTML: ~3.5 µs a tile,
60 a page. ``rendering`` gives ``Snapshot.page_rendered`` the same HTML as one
``printf`` (``snapshot/rendered.py``) for the files it can write: not songs (their
tags are tidied in Python: ``songs.song_of``), and not a path with a character HTML
escapes (``&<>"'``), which Python writes. Every other part of a tile is a URL
(percent-encoded: nothing to escape) or a number.
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


def _printf(kind: str, sized: bool, star: bool) -> str:
    """``tiles.tile_html`` of ``render.tile`` for a file of ``kind`` (not a song, not
    starred), with its picture's size or not, as one flat ``printf`` (nested ones and
    ``||`` cost more)."""
    pictured = kind != "other"
    args = ["{position}"]
    size = ""
    if sized:
        size, args = ' data-w="%d" data-h="%d"', [*args, "f.width", "f.height"]
    srcset = ""
    if pictured:
        srcset = f' srcset="{_THUMB}&amp;w={SIZE_2X} 2x"'
    badge = "" if kind == "image" else f'<span class="badge">{kind}</span>'
    text = (
        f'<li id="f%d"{size}>\n'
        f'<a class="tile kind-{kind}" href="%s%s%s" title="%s">\n'
        f'<img src="{_THUMB}"{srcset} alt="" loading="lazy" decoding="async"'
        ' width="320" height="320">\n'
        f'{badge}<span class="name">%s</span>\n'
        "</a>\n"
        f"{_STAR if star else ''}</li>\n"
    )
    thumb = ["{url}", "f.size", "f.mtime_ns"]
    args += [
        ":view",
        "{url}",
        ":view_query",
        "f.path",
        *thumb,
        *(thumb if pictured else []),
        "f.name",
        *(["{url}", "f.name"] if star else []),
    ]
    return f"printf('{text}', {', '.join(args)})"


def _sql(star: bool) -> str:
    sized = "f.width AND f.height"  # the picture's size, when known (and not 0)
    cases = [
        f"WHEN f.kind = '{kind}' AND {sized} THEN {_printf(kind, True, star)}"
        f" WHEN f.kind = '{kind}' THEN {_printf(kind, False, star)}"
        for kind in ("image", "video")
    ]
    return f"CASE {' '.join(cases)} ELSE {_printf('other', False, star)} END"


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
        where="f.kind <> 'audio'",
        params={"view": prefix, "view_query": query},
    )
