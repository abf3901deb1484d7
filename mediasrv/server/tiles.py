"""A grid's tiles as HTML, written by f-strings instead of a Jinja loop.

A grid page has 60 tiles; through the ``_tiles.html`` macro each cost about
20 µs, most of it Jinja looking up ``t.kind`` and the rest on a dict (an
attribute first, then the item). Here a tile is a few f-strings of values
escaped as autoescape escapes them, giving the bytes the macro gave.
Templates still call the macro (``_tiles.html``), which calls ``tiles_html``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup


def escape(text: str) -> str:
    """``text`` escaped for HTML as markupsafe's ``escape`` (autoescape) does, as a plain
    string: most values (URLs, plain names) hold nothing to escape, and five ``in`` tests
    cost a third of making a ``Markup`` of them."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&#34;")
            .replace("'", "&#39;")
        )
    return text


def tiles_html(items: Iterable[dict[str, Any] | str], first: int = 0) -> Markup:
    """The ``<ul class="grid">`` of ``items`` (``render.tile``'s dicts, or tiles already
    written: ``tilerows.py``), the first one at position ``first`` (its id: ``f{first}``,
    what search and month links scroll to)."""
    out = ['<ul class="grid">\n']
    for n, t in enumerate(items, first):
        out.append(t if isinstance(t, str) else tile_html(t, n))
    out.append("</ul>\n")
    return Markup("".join(out))


def tile_html(t: dict[str, Any], n: int) -> str:
    """One tile (``render.tile``'s dict) at position ``n``.

    A grid page is ~50 KB, most of it tiles, and its bytes cost the server their
    write: a tile carries each thing once (its picture's 1x URL in ``src`` only: a
    browser takes ``src`` as the 1x of a ``srcset`` without one), no indentation (the
    line breaks alone keep what the browser shows), and is ASCII (the star as
    ``&#9733;``), so that a page of ASCII names encodes to UTF-8 as a copy.
    """
    # f-strings: compiled once, where str.format parses its template on every call.
    kind, name, thumb = escape(t["kind"]), escape(t["name"]), escape(t["thumb"])
    href, title = escape(t["href"]), escape(t["title"])
    shape, double, api = t["shape"], t["thumb_2x"], t["star_api"]
    size = f' data-w="{shape[0]}" data-h="{shape[1]}"' if shape else ""
    srcset = f' srcset="{escape(double)} 2x"' if double else ""
    badge = f'<span class="badge">{kind}</span>' if kind != "image" else ""
    guessed = " guessed" if t["guessed"] else ""  # a name that is not UTF-8: a guess
    artist = f'<span class="artist">{escape(t["artist"])}</span>' if t["artist"] else ""
    star = ""
    if api:
        on = t["favourite"]
        star = (
            f'<button type="button" class="star{" on" if on else ""}" data-api="{escape(api)}"'
            f' aria-pressed="{"true" if on else "false"}" aria-label="Favourite: {name}"'
            ' title="Favourite (f)">&#9733;</button>'
        )
    return (
        f'<li id="f{n}"{size}>\n'
        f'<a class="tile kind-{kind}" href="{href}" title="{title}">\n'
        f'<img src="{thumb}"{srcset} alt="" loading="lazy" decoding="async" width="320"'
        ' height="320">\n'
        f'{badge}<span class="name{guessed}">{name}</span>\n'
        f"{artist}</a>\n"
        f"{star}</li>\n"
    )
