"""What a song shows: title, artist and album from the index's tags, else its file name."""

from __future__ import annotations

from typing import Any

from mediasrv.server.render import tile
from mediasrv.server.songs import song_of


def song_file(name: str = "01 a.mp3", audio: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "path": f"Album/{name}",
        "name": name,
        "kind": "audio",
        "size": 10,
        "mtime_ns": 5,
        "display_path": f"Album/{name}",
        "name_guessed": False,
        "url": f"/media/Album/{name}",
        "thumb_url": f"/thumb/Album/{name}?v=10-5-song",
        "width": None,
        "height": None,
        "audio": audio,
    }


TAGS = {
    "title": "Blue\nEvening ",
    "artist": "The Testers",
    "album": "Proofs",
    "album_artist": "Various",
    "track": 1,
    "disc": None,
    "year": 2019,
    "genre": "Jazz",
}


def test_a_tagged_song_shows_its_tags_on_one_line_each() -> None:
    assert song_of(song_file(audio=TAGS)) == {
        "title": "Blue Evening",
        "artist": "The Testers",
        "album": "Proofs",
    }


def test_without_an_artist_the_album_artist_shows() -> None:
    assert song_of(song_file(audio={**TAGS, "artist": None}))["artist"] == "Various"


def test_an_untagged_song_shows_its_file_name() -> None:
    for audio in (None, {key: None for key in TAGS}, {**TAGS, "title": "  "}):
        assert song_of(song_file("caf\udce9.mp3", audio))["title"] == "café.mp3"  # a guess
    assert song_of(song_file(audio=None)) == {"title": "01 a.mp3", "artist": None, "album": None}


def test_a_file_dict_from_before_tags_were_indexed_shows_its_name() -> None:
    file = song_file()
    del file["audio"]
    assert song_of(file) == {"title": "01 a.mp3", "artist": None, "album": None}


def test_a_song_tile_shows_title_and_artist_and_asks_for_a_sharp_cover() -> None:
    shown = tile(song_file(audio=TAGS), "/view/Album/Album/01%20a.mp3")
    assert (shown["name"], shown["artist"]) == ("Blue Evening", "The Testers")
    assert shown["thumb"] == "/thumb/Album/01 a.mp3?v=10-5-song"
    assert shown["thumb_2x"] == "/thumb/Album/01 a.mp3?v=10-5-song&w=640"


def test_other_tiles_have_no_artist() -> None:
    photo = {**song_file("a.jpg"), "kind": "image", "width": 4, "height": 3}
    del photo["audio"]
    shown = tile(photo, "/view/Album/Album/a.jpg")
    assert (shown["name"], shown["artist"]) == ("a.jpg", None)
