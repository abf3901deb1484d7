"""A grid's tiles, written by server/tiles.py: escaped as autoescape does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape as markup_escape

from mediasrv.server.tiles import escape, tiles_html

PICTURE = {
    "href": "/view/All/a.jpg",
    "thumb": "/thumb/a.jpg?v=1-2",
    "thumb_2x": "/thumb/a.jpg?v=1-2&w=640",
    "name": "a<b>.jpg",
    "title": 'x/a"b.jpg',
    "kind": "image",
    "shape": (3, 4),
    "favourite": True,
    "guessed": False,
    "artist": None,
    "star_api": "/api/favourites?path=a.jpg",
}
SONG = {
    "href": "/view/All/s.mp3",
    "thumb": "/thumb/s.mp3?v=1-2",
    "thumb_2x": None,
    "name": "s.mp3",
    "title": "s.mp3",
    "kind": "audio",
    "shape": None,
    "favourite": False,
    "guessed": True,  # a name that is not UTF-8, shown as a guess
    "artist": "Nina & co",
    "star_api": None,
}


def test_tiles_are_numbered_from_first_and_escaped() -> None:
    # The bytes the Jinja macro of _tiles.html wrote for the same tiles, whitespace and all.
    assert tiles_html([PICTURE, SONG], 5) == (
        '<ul class="grid">\n'
        '<li id="f5" data-w="3" data-h="4">\n'
        '<a class="tile kind-image" href="/view/All/a.jpg" title="x/a&#34;b.jpg">\n'
        '<img src="/thumb/a.jpg?v=1-2" srcset="/thumb/a.jpg?v=1-2&amp;w=640 2x" alt=""'
        ' loading="lazy" decoding="async" width="320" height="320">\n'
        '<span class="name">a&lt;b&gt;.jpg</span>\n'
        "</a>\n"
        '<button type="button" class="star on" data-api="/api/favourites?path=a.jpg"'
        ' aria-pressed="true" aria-label="Favourite: a&lt;b&gt;.jpg" title="Favourite (f)">'
        "&#9733;</button></li>\n"
        '<li id="f6">\n'
        '<a class="tile kind-audio" href="/view/All/s.mp3" title="s.mp3">\n'
        '<img src="/thumb/s.mp3?v=1-2" alt="" loading="lazy" decoding="async" width="320"'
        ' height="320">\n'
        '<span class="badge">audio</span><span class="name guessed">s.mp3</span>\n'
        '<span class="artist">Nina &amp; co</span></a>\n'
        "</li>\n"
        "</ul>\n"
    )


def test_a_page_of_ascii_names_is_ascii() -> None:
    # The star is an entity: a page whose names are ASCII encodes to UTF-8 as a copy.
    assert tiles_html([{**PICTURE, "name": "a.jpg"}, SONG]).isascii()


def test_no_tiles_is_an_empty_grid() -> None:
    assert tiles_html([]) == '<ul class="grid">\n</ul>\n'


def test_a_star_off_says_so() -> None:
    html = tiles_html([{**PICTURE, "favourite": False}])
    assert 'class="star" data-api="/api/favourites?path=a.jpg" aria-pressed="false"' in html


@given(st.text())
def test_escaped_as_autoescape_does(text: str) -> None:
    assert escape(text) == str(markup_escape(text))
