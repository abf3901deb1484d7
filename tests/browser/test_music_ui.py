"""Issue 25, music, in a real browser: songs made in the test show their title, artist and
cover in the grid and the viewer, and the next song plays when one ends (unless turned off).

The songs are real MP3s (PyAV, libmp3lame), about a second long, tagged with mutagen; one
album's songs carry their covers inside, another folder has a folder.jpg instead.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from ..support import LiveServer, make_tree
from ..support.browser import browser_server, screenshot
from ..support.songs import cover_bytes, song_bytes, tag_song

pytestmark = pytest.mark.browser

RED, GREEN, BLUE, GREY = (220, 30, 30), (30, 200, 30), (30, 30, 220), (128, 128, 128)
FRONT, BACK = 3, 4


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("music")
    root = make_tree(
        base / "lib",
        {
            "Proofs/01 first.mp3": song_bytes("mp3", 1.0, 440),
            "Proofs/01b liner notes.txt": "between the songs: skipped by the queue",
            "Proofs/02 second.mp3": song_bytes("mp3", 1.0, 660),
            "Loose/folder.jpg": cover_bytes(BLUE),
            "Loose/untitled.mp3": song_bytes("mp3", 1.0, 550),
        },
        mtime=None,
    )
    tag_song(
        root / "Proofs/01 first.mp3",
        title="First Light",
        artist="The Testers",
        album="Proofs",
        covers=[(BACK, cover_bytes(GREY)), (FRONT, cover_bytes(RED))],
    )
    tag_song(
        root / "Proofs/02 second.mp3",
        title="Second Wind",
        artist="The Testers",
        album="Proofs",
        covers=[(FRONT, cover_bytes(GREEN))],
    )
    tag_song(root / "Loose/untitled.mp3", title="Loose Song", artist="Solo")
    server = browser_server(root, base / "cache")
    try:
        server.wait_idle()
        yield server
    finally:
        server.stop()


def colour_of(page: Any, url: str) -> tuple[int, ...]:
    resp = page.request.get(url)
    assert resp.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(resp.body())) as img:
        return img.convert("RGB").getpixel((img.width // 2, img.height // 2))


def near(pixel: tuple[int, ...], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(pixel, color, strict=True))


def loaded(page: Any, selector: str) -> None:
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)",
        arg=selector,
    )


def test_song_tiles_show_title_artist_and_cover(music: LiveServer, tabs: Any) -> None:
    page = tabs(music).page
    page.goto("/tag/Proofs")
    assert page.locator(".tile .name").all_inner_texts() == [
        "First Light",
        "01b liner notes.txt",
        "Second Wind",
    ]
    assert page.locator(".tile .artist").all_inner_texts() == ["The Testers", "The Testers"]
    loaded(page, ".tile img")
    first, second = (page.locator(".tile img").nth(i).get_attribute("src") for i in (0, 2))
    assert near(colour_of(page, first), RED)  # the front cover, not the back one
    assert near(colour_of(page, second), GREEN)

    page.goto("/tag/Loose")
    song = page.locator(".tile.kind-audio")
    assert song.locator(".name").inner_text() == "Loose Song"
    assert song.locator(".artist").inner_text() == "Solo"
    loaded(page, ".tile img")
    assert near(colour_of(page, song.locator("img").get_attribute("src")), BLUE)  # folder.jpg


def test_the_song_viewer_shows_cover_title_artist_album_and_tells_the_media_session(
    music: LiveServer,
    tabs: Any,
) -> None:
    page = tabs(music).page
    page.goto("/tag/Proofs")
    page.locator(".tile").first.click()
    page.wait_for_url("**/view/Proofs/Proofs/01%20first.mp3")
    assert page.locator("#song-title").inner_text() == "First Light"
    assert page.locator("#song-artist").inner_text() == "The Testers"
    assert page.locator("#song-album").inner_text() == "Proofs"
    loaded(page, "#cover")
    cover = page.locator("#cover").get_attribute("src")
    assert near(colour_of(page, cover), RED)
    session = page.evaluate("""() => {
        const m = navigator.mediaSession.metadata;
        return {title: m.title, artist: m.artist, album: m.album, art: m.artwork[0].src};
    }""")
    assert session == {
        "title": "First Light",
        "artist": "The Testers",
        "album": "Proofs",
        "art": music.url + cover,
    }


def start_playing(page: Any) -> None:
    """Press the player's ▶ as a listener does (a click: the browser's autoplay rules hold)."""
    player = page.locator("#media")
    box = player.bounding_box()
    player.click(position={"x": 20, "y": box["height"] / 2})
    page.wait_for_function("() => document.getElementById('song').dataset.queue === 'playing'")


def test_when_a_song_ends_the_next_song_plays_in_the_same_player(
    music: LiveServer,
    tabs: Any,
) -> None:
    page = tabs(music).page
    page.goto("/view/Proofs/Proofs/01%20first.mp3")
    page.evaluate("() => { window.player = document.getElementById('media'); }")
    start_playing(page)
    # The liner notes between the songs are skipped; the same <audio> element goes on.
    page.wait_for_function("""() => {
        const a = document.getElementById('media');
        return a === window.player && a.currentSrc.endsWith('/media/Proofs/02%20second.mp3')
            && !a.paused && a.currentTime > 0;
    }""")
    assert page.locator("#song-title").inner_text() == "Second Wind"
    assert page.url == music.url + "/view/Proofs/Proofs/02%20second.mp3"
    assert page.locator("#position").inner_text() == "3 / 3"
    assert page.locator("#name").inner_text() == "02 second.mp3"
    assert page.evaluate("navigator.mediaSession.metadata.title") == "Second Wind"
    loaded(page, "#cover")
    assert near(colour_of(page, page.locator("#cover").get_attribute("src")), GREEN)
    # The last song of the list: when it ends, the queue stops.
    page.wait_for_function("() => document.getElementById('song').dataset.queue === 'stopped'")
    assert page.locator("#song-title").inner_text() == "Second Wind"


def test_with_the_toggle_off_the_song_ends_in_silence_and_the_choice_is_kept(
    music: LiveServer,
    tabs: Any,
) -> None:
    page = tabs(music).page
    page.goto("/view/Proofs/Proofs/01%20first.mp3")
    toggle = page.locator("#continue")
    assert toggle.is_checked()  # on by default
    toggle.uncheck()
    start_playing(page)
    page.wait_for_function("() => document.getElementById('song').dataset.queue === 'stopped'")
    assert page.evaluate("document.getElementById('media').ended")
    assert page.locator("#song-title").inner_text() == "First Light"
    assert page.url == music.url + "/view/Proofs/Proofs/01%20first.mp3"
    page.reload()
    assert not page.locator("#continue").is_checked()
    page.locator("#continue").check()  # and back on, for the next page
    page.goto("/view/Proofs/Proofs/02%20second.mp3")
    assert page.locator("#continue").is_checked()


def test_a_shared_album_plays_on_too(music: LiveServer, tabs: Any) -> None:
    owner = tabs(music).page
    made = owner.request.post(music.url + "/api/shares?tag=Proofs")
    assert made.status == 201
    page = tabs(music).page  # a recipient: a context of its own
    page.goto(made.json()["url"])
    page.locator(".tile.kind-audio").first.click()
    page.wait_for_selector("#song")
    assert page.locator("#song-title").inner_text() == "First Light"
    start_playing(page)
    page.wait_for_function("""() => {
        const a = document.getElementById('media');
        return a.currentSrc.endsWith('/02%20second.mp3') && !a.paused && a.currentTime > 0;
    }""")
    assert page.locator("#song-title").inner_text() == "Second Wind"
    assert "/s/" in page.url and page.url.endswith("/02%20second.mp3")


def test_the_sample_album_shows_its_songs_by_title_with_their_cover(
    sample: LiveServer, tabs: Any, tmp_path: Any
) -> None:
    """The README's sample: an album's grid and one of its songs (the README's screenshots)."""
    page = tabs(sample).page
    page.goto("/tag/Blue%20Evening")
    assert page.locator(".tile .name").all_inner_texts() == ["Sunset Groove", "Night Walk"]
    assert page.locator(".tile .artist").all_inner_texts() == ["The Harbour Trio"] * 2
    loaded(page, ".tile img")
    screenshot(page, "songs", tmp_path)
    page.locator(".tile").first.click()
    page.wait_for_url("**/view/Blue%20Evening/Music/Jazz/Blue%20Evening/01%20Sunset%20Groove.mp3")
    assert page.locator("#song-title").inner_text() == "Sunset Groove"
    assert page.locator("#song-artist").inner_text() == "The Harbour Trio"
    loaded(page, "#cover")
    screenshot(page, "song", tmp_path)
