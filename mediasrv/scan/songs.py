"""A song's tags and duration, read with mutagen (``Audio``).

mutagen reads the tags at the head of a file (ID3, a FLAC's metadata blocks,
an Ogg stream's comment packet, an MP4's ``moov``) and the stream's header
for the duration, without decoding a frame: about five times faster than
asking FFmpeg to open the container (docs/BENCHMARKS.md, "Probing songs"),
and its ``easy`` interface names the tags alike in every format. A file
mutagen cannot read is handed to PyAV, as every song was before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import mutagen

from ..index.filerows import Audio, Probed
from .details import text

# What mutagen reads here; other sounds (WAV, WMA, AIFF, APE) are opened with PyAV.
EXTS = frozenset(["mp3", "flac", "ogg", "oga", "opus", "m4a"])

# Audio's fields by the keys of mutagen's easy interface (EasyID3, EasyMP4; Vorbis
# comments are named so too), best first.
_KEYS: Mapping[str, tuple[str, ...]] = {
    "title": ("title",),
    "artist": ("artist",),
    "album": ("album",),
    "album_artist": ("albumartist", "album artist", "album_artist"),
    "genre": ("genre",),
}
_NUMBER = re.compile(r"\s*0*(\d{1,6})")  # 3 of "3/12", "03"
_YEAR = re.compile(r"\s*(\d{4})")  # 2019 of "2019-05-01"


class NotASong(Exception):
    """A file mutagen does not read as a song."""


def probe_song(path: str) -> Probed:
    """The duration and tags of a song; NotASong if mutagen cannot read it."""
    try:
        song = mutagen.File(path, easy=True)
    except Exception as exc:  # MutagenError, and whatever a broken tag makes a parser raise
        raise NotASong(f"{type(exc).__name__}: {exc}") from exc
    length = getattr(getattr(song, "info", None), "length", None)
    if song is None or not isinstance(length, (int, float)) or not length > 0:
        raise NotASong("no stream length")
    return Probed(duration=round(float(length), 3), audio=audio_of(song.tags or {}))


def audio_of(tags: Mapping[str, Sequence[str]]) -> Audio | None:
    """``Audio`` from mutagen's easy tags (each a list of values); None if none is stated."""

    def joined(keys: tuple[str, ...]) -> str | None:
        for key in keys:
            values = [v for v in map(text, _values(tags, key)) if v]
            if values:
                return text("; ".join(dict.fromkeys(values)))
        return None

    found = Audio(
        title=joined(_KEYS["title"]),
        artist=joined(_KEYS["artist"]),
        album=joined(_KEYS["album"]),
        album_artist=joined(_KEYS["album_artist"]),
        track=_number(tags, "tracknumber", _NUMBER),
        disc=_number(tags, "discnumber", _NUMBER),
        year=_number(tags, "date", _YEAR) or _number(tags, "year", _YEAR),
        genre=joined(_KEYS["genre"]),
    )
    return found if any(v is not None for v in found) else None


def _values(tags: Mapping[str, Sequence[str]], key: str) -> Sequence[object]:
    try:
        found = tags.get(key)
    except (KeyError, ValueError):  # EasyID3 raises for keys it has no mapping for
        return ()
    if found is None:
        return ()
    return [found] if isinstance(found, (str, bytes)) else list(found)


def _number(tags: Mapping[str, Sequence[str]], key: str, pattern: re.Pattern[str]) -> int | None:
    for value in _values(tags, key):
        found = pattern.match(str(value))
        if found and int(found.group(1)) > 0:
            return int(found.group(1))
    return None
