"""A song's cover art: the picture in its tags, else the folder's cover file beside it.

Embedded pictures are read with mutagen from ID3 ``APIC`` frames (MP3, and
AIFF/WAV with ID3), FLAC picture blocks, MP4 ``covr`` atoms (M4A/AAC/ALAC)
and Ogg ``METADATA_BLOCK_PICTURE`` comments (Vorbis, Opus, Ogg FLAC); a front
cover is preferred to the other pictures a file may carry (back, artist, …).
Without one, a ``cover``/``folder`` picture beside the song is used
(``.jpg``, ``.jpeg``, ``.png``, any letter case), the way Jellyfin, Navidrome
and most players look for it.

A song's thumbnail therefore depends on a second file: its key names that
cover file's name, size and mtime (``thumbs.thumb_key``), so a cover added,
changed or removed later gives the song a new key. The server finds the cover
on disk (``FolderCovers``); pruning on the scan side finds the same one among
the generation's files (``folder_cover``).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import stat
from collections.abc import Iterable

from .thumbmake import make_image

log = logging.getLogger(__name__)

# In order of preference; the first one present is the folder's cover.
COVER_FILES = ("cover.jpg", "cover.jpeg", "cover.png", "folder.jpg", "folder.jpeg", "folder.png")
_RANK = {name: rank for rank, name in enumerate(COVER_FILES)}
FRONT_COVER = 3  # the ID3/FLAC picture type "Cover (front)"
FOLDERS_KEPT = 4096  # folders whose cover is remembered (by the folder's mtime) between requests

Cover = tuple[str, int, int]  # a folder cover: (its name, size, mtime_ns)


def folder_cover(names: Iterable[str]) -> str | None:
    """The folder's cover among the file ``names`` of one folder, if one is there.

    Two spellings of one name (``Cover.jpg`` and ``cover.JPG``) are decided by
    their exact text, so every process picks the same one.
    """
    best: tuple[int, str] | None = None
    for name in names:
        rank = _RANK.get(name.lower())
        if rank is not None and (best is None or (rank, name) < best):
            best = (rank, name)
    return best[1] if best else None


class FolderCovers:
    """Finds the cover file beside a song on disk, listing each folder only when it changed.

    A folder's listing is remembered with the folder's mtime: a cover added,
    removed or renamed changes that mtime, and one rewritten in place changes
    its own size or mtime, which is read on every look-up.
    """

    def __init__(self) -> None:
        self._names: dict[str, tuple[int, str | None]] = {}

    def beside(self, real: str) -> tuple[str, Cover] | None:
        """(real path, (name, size, mtime_ns)) of the cover beside the file at ``real``."""
        folder = os.path.dirname(real)
        try:
            stamp = os.stat(folder).st_mtime_ns
        except OSError:
            return None
        known = self._names.get(folder)
        if known is None or known[0] != stamp:
            try:
                found = folder_cover(os.listdir(folder))
            except OSError:
                found = None
            if len(self._names) >= FOLDERS_KEPT:  # a crude bound: a full listing is cheap
                self._names.clear()
            known = self._names[folder] = (stamp, found)
        if known[1] is None:
            return None
        path = os.path.join(folder, known[1])
        try:
            st = os.lstat(path)
        except OSError:
            return None
        # A link could show a picture from outside the library; only a plain file is a cover.
        if not stat.S_ISREG(st.st_mode):
            return None
        return path, (known[1], st.st_size, st.st_mtime_ns)


def embedded_cover(source: str) -> bytes | None:
    """The bytes of the picture in the tags of the song at ``source`` (front cover first)."""
    import mutagen

    try:
        song = mutagen.File(source)
    except (mutagen.MutagenError, OSError, ValueError, KeyError, IndexError) as exc:
        log.info("cannot read the tags of %s: %s", os.fsdecode(source), exc)
        return None
    if song is None:
        return None
    found = list(_pictures(song))
    if not found:
        return None
    found.sort(key=lambda picture: picture[0] != FRONT_COVER)  # stable: else the first
    return found[0][1]


def _pictures(song: object) -> Iterable[tuple[int, bytes]]:
    """(picture type, bytes) of every picture in ``song``'s tags."""
    from mutagen.flac import Picture
    from mutagen.id3 import ID3
    from mutagen.mp4 import MP4Tags

    for picture in getattr(song, "pictures", None) or ():  # FLAC's picture blocks
        yield picture.type, picture.data
    tags = getattr(song, "tags", None)
    if tags is None:
        return
    if isinstance(tags, ID3):
        for frame in tags.getall("APIC"):
            yield frame.type, frame.data
    elif isinstance(tags, MP4Tags):
        for cover in tags.get("covr", ()):
            yield FRONT_COVER, bytes(cover)  # MP4 says nothing of which cover it is
    elif hasattr(tags, "get"):  # Vorbis comments (Ogg Vorbis, Opus, Ogg FLAC)
        for value in tags.get("metadata_block_picture", ()):
            try:
                picture = Picture(base64.b64decode(value))
            except Exception as exc:  # bad base64 or a bad block: mutagen, struct, binascii
                log.info("a damaged cover in the tags: %s", exc)
                continue
            yield picture.type, picture.data


def make_song(source: str, edge: int, cover: str | None) -> bytes | None:
    """A JPEG of the song's cover art at ``edge`` (``cover``: the folder's cover file, if any);
    None when it has none that can be decoded."""
    data = embedded_cover(source)
    if data is not None:
        try:
            return make_image(io.BytesIO(data), edge)
        except Exception as exc:  # a damaged embedded picture: the folder's may still do
            log.info("the cover in %s cannot be decoded: %s", os.fsdecode(source), exc)
    if cover is not None:
        try:
            return make_image(cover, edge)
        except Exception as exc:  # the song is fine: show the music icon, not a broken one
            log.info("the cover %s cannot be decoded: %s", os.fsdecode(cover), exc)
    return None
