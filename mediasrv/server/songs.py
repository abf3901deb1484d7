"""What a song shows of itself: title, artist and album from its tags, else its file name.

The tags are the index's (a file dict's ``audio``: title, artist, album,
album_artist, track, disc, year, genre, each None when the song does not say);
a song without them, or a file dict from before they were indexed, shows its
file name, as every other file does.
"""

from __future__ import annotations

from typing import Any, TypedDict

from ..names import display


class Song(TypedDict):
    title: str
    artist: str | None
    album: str | None


def _line(value: object) -> str | None:
    """A tag as one printable line (tags may hold newlines or odd bytes); None if empty."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text.encode("utf-8", "replace").decode("utf-8") or None


def song_of(file: dict[str, Any]) -> Song:
    """The title, artist and album ``file`` (a song's file dict) shows."""
    tags = file.get("audio") or {}
    return {
        "title": _line(tags.get("title")) or display(file["name"]),
        "artist": _line(tags.get("artist")) or _line(tags.get("album_artist")),
        "album": _line(tags.get("album")),
    }
