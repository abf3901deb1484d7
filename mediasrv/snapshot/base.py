"""What every snapshot backend shares: the interface, the file shape, and the rules.

A snapshot is one published generation, read-only. Handlers call the public
methods here; each backend answers the few primitive lookups below them, and
the rules they share (an unknown tag is not an unknown file, an empty query
finds nothing, the tag list's order) live here once.
"""

from __future__ import annotations

import abc
import bisect
import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FileNotIndexed, UnknownTag
from ..index.current import is_complete
from ..index.filerows import Audio, Details
from ..index.words import WORD_END
from ..names import ALL_TAG, display, from_db, is_url_plain, query_words, url_quote

# The orders of a tag: natural path order, and by time taken, newest first.
SORTS = ("name", "taken")


# The columns of a file ``f`` that ``file_dict`` reads, in its order: a song's tags come
# from ``AUDIO_JOIN``.
FILE_COLUMNS = ("coalesce(f.path_bytes, f.path), f.ext, f.kind, f.size, f.mtime_ns, f.width,"
                " f.height, f.duration, f.taken_ns" + "".join(f", a.{c}" for c in Audio._fields))
AUDIO_JOIN = "LEFT JOIN file_audio AS a ON a.file_id = f.id"
# A ``file_details`` row ``d`` as ``Snapshot._details`` answers it.
DETAILS_COLUMNS = ", ".join(f"d.{c}" for c in Details._fields)
_NO_DETAILS = (None,) * len(Details._fields)


# Paths with a space, a bracket or a letter beyond ASCII (38 % of the bench library) cost
# ~1.3 us each to quote, more than the rest of a file's dict: each is quoted once and
# remembered. The result depends on the text alone, so the memo outlives generations;
# 32k paths of 55 characters are ~10 MB. A plain path is its own URL (url_quote's rule).
quoted = functools.lru_cache(maxsize=1 << 15)(url_quote)


def file_dict(row: Sequence[Any]) -> dict[str, Any]:
    """A file as the API shows it.

    ``row`` is (exact path as ``coalesce(path_bytes, path)``, ext, kind, size,
    mtime_ns, width, height, duration, taken_ns, then ``Audio``'s fields).
    ``audio`` is a dict for every song (its values None where the song states
    nothing), None for every other file. ``thumb_url`` carries the file's
    version (``?v=size-mtime_ns``; pages and previews use the same), so a
    browser or script may cache it for good (``server/media.py``); a song's
    ends in ``-song``, which the server never matches: its cover may change
    without it (a folder.jpg added), so browsers revalidate it.

    Every file of every answer passes here: quoting is memoised (``quoted``).
    """
    path = from_db(row[0])
    url = path if is_url_plain(path) else quoted(path)
    shown = display(path)  # ``path`` itself when it is valid UTF-8
    return {
        "path": path,
        "name": path.rpartition("/")[2],
        "ext": row[1],
        "kind": row[2],
        "size": row[3],
        "mtime_ns": row[4],
        "width": row[5],
        "height": row[6],
        "duration": row[7],
        "taken_ns": row[8],
        "audio": dict(zip(Audio._fields, row[9:17], strict=True)) if row[2] == "audio" else None,
        "display_path": shown,
        "name_guessed": shown != path,  # a name in it is not UTF-8: shown as Windows-1252
        "url": f"/media/{url}",
        "thumb_url": f"/thumb/{url}?v={row[3]}-{row[4]}{'-song' if row[2] == 'audio' else ''}",
    }


# Characters JSON escapes (and so does HTML, beyond ``&<>'``).
JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\]').search


@dataclass(frozen=True)
class Rendering:
    """How a file is written as text: by SQLite for common rows, by Python for all
    (``snapshot/rendered.py``).

    ``sql`` is an expression over ``f`` (``files``), ``a`` (``file_audio``), its
    ``params``, ``{position}`` (the file's position in the page's order) and ``{url}``
    (``rendered.MARK``: Python puts the URL there), giving the text of a file that passes
    ``rendered.COMMON`` and ``where`` and whose path ``unwritten`` finds nothing in.
    ``python(file, position)`` gives the same text from a ``file_dict`` carrying
    ``favourite``.
    """

    sql: str
    python: Callable[[dict[str, Any], int], str]
    unwritten: Callable[[str], object] = JSON_ESCAPED  # a path SQLite cannot write as it is
    where: str = "1"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Neighbours:
    """A file, where it stands in a tag, and the files on either side."""

    file: dict[str, Any]
    tag: str
    position: int
    total: int
    prev: dict[str, Any] | None
    next: dict[str, Any] | None


class Snapshot(abc.ABC):
    """One published generation, read-only. Every query returns plain data."""

    state: str = ""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = meta
        self.generation = int(meta["generation"])

    @property
    def file_count(self) -> int:
        return int(self.meta["file_count"])

    @property
    def complete(self) -> bool:
        """False while this generation is part of a first walk that has not ended."""
        return is_complete(self.meta)

    # -- what handlers call ------------------------------------------------

    @abc.abstractmethod
    async def tags(self) -> list[tuple[str, int]]:
        """Every tag with its file count, ``All`` first, then natural name order."""

    @abc.abstractmethod
    async def tag_name(self, tag: str) -> str:
        """The name ``tag`` is shown by, for any spelling of it (letter case does not tell
        tags apart: ``names.tag_key``); UnknownTag if there is no such tag."""

    @abc.abstractmethod
    async def page(
        self, tag: str, offset: int, limit: int, sort: str = "name",
    ) -> tuple[int, list[dict[str, Any]]]:
        """(files in the tag, the files at positions offset .. offset+limit-1 in ``sort``
        order)."""

    async def page_rendered(
        self, tag: str, offset: int, limit: int, sort: str, rendering: Rendering,
    ) -> tuple[int, list[tuple[str, str]]]:
        """``page``, each file as (its path, its text by ``rendering``), not starred. The
        SQLite backend has SQLite write most of them (``snapshot/rendered.py``)."""
        total, files = await self.page(tag, offset, limit, sort)
        return total, [(file["path"], rendering.python({**file, "favourite": False}, n))
                       for n, file in enumerate(files, max(offset, 0))]

    async def neighbours(self, path: str, tag: str, sort: str = "name", *,
                         details: bool = True) -> Neighbours:
        """The file at ``path`` within ``tag`` (with its ``details`` unless told not to),
        with its previous and next file in ``sort`` order."""
        found = await self._neighbours(path, tag, sort)
        if found is not None:
            if not details:
                return found
            return dataclasses.replace(found, file=await self.with_details(found.file))
        tag_known, file_known = await self._known(path, tag)
        if not tag_known:
            raise UnknownTag(tag)
        raise FileNotIndexed(path, tag if file_known else None)

    @abc.abstractmethod
    async def get(self, path: str) -> dict[str, Any]:
        """The file at ``path``; FileNotIndexed if there is none. (Media requests ask it:
        without ``details``.)"""

    async def with_details(self, file: dict[str, Any]) -> dict[str, Any]:
        """``file`` (a ``file_dict``) with ``details``: its camera, lens, exposure and place,
        each None where it states nothing; None for songs and other files. Lists leave
        it out: the single-file answers (``neighbours``' file, /api/random's) carry it."""
        if "details" in file:
            return file
        details = None
        if file["kind"] in ("image", "video"):
            row = await self._details(file["path"])
            details = dict(zip(Details._fields, row or _NO_DETAILS, strict=True))
        return {**file, "details": details}

    @abc.abstractmethod
    async def lookup(self, paths: Collection[str]) -> list[dict[str, Any]]:
        """The files at ``paths`` that this generation has, in natural order (one round trip;
        paths it lacks are left out)."""

    @abc.abstractmethod
    async def covers(self) -> dict[str, dict[str, Any]]:
        """Each tag's newest file (the first in ``sort=taken`` order), by tag name."""

    @abc.abstractmethod
    async def folder_names(self) -> tuple[frozenset[str], frozenset[str]]:
        """(the names of the top folders, every folder's own name) of the generation."""

    @abc.abstractmethod
    async def months(self, tag: str) -> list[tuple[int, int]]:
        """(YYYYMM, files) of each month of ``tag`` that has files, newest first, as
        ``sort=taken`` orders them (``index/months.py``); UnknownTag if there is no tag."""

    @abc.abstractmethod
    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        """Files of ``tag`` at the positions ``int(d * count)`` for each draw in [0, 1)."""

    async def search(self, query: str, limit: int, tag: str = ALL_TAG) -> list[dict[str, Any]]:
        """The first ``limit`` files of ``tag`` having, for every word of ``query``, a path
        word starting with it, in natural order. An empty query finds nothing."""
        words = query_words(query)
        if not words:
            return []
        return await self._search(words, limit, tag)

    async def open(self) -> None:
        """Acquire what the snapshot needs (connections); called before it is served."""

    async def close(self) -> None:
        """Release everything; idempotent."""

    # -- what each backend answers -----------------------------------------

    @abc.abstractmethod
    async def _details(self, path: str) -> Sequence[Any] | None:
        """The ``file_details`` row (``Details``' fields) of the file at ``path``, if any."""

    @abc.abstractmethod
    async def _neighbours(self, path: str, tag: str, sort: str) -> Neighbours | None:
        """The answer of ``neighbours``, or None when the file is not in the tag."""

    @abc.abstractmethod
    async def _known(self, path: str, tag: str) -> tuple[bool, bool]:
        """(is there such a tag, is there such a file): why ``_neighbours`` found nothing."""

    @abc.abstractmethod
    async def _search(self, words: list[str], limit: int, tag: str) -> list[dict[str, Any]]:
        """Files of ``tag`` matching every one of ``words`` (at least one), in natural order;
        UnknownTag if there is no such tag."""


def folder_names(paths: Sequence[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(top folder names, every folder name on them) of the folder ``paths``."""
    top = frozenset(p.partition("/")[0] for p in paths if p)
    return top, frozenset(part for p in paths if p for part in p.split("/"))


def prefix_range(words: list[str], prefix: str) -> tuple[int, int]:
    """Index range of ``words`` (sorted) that start with ``prefix``, as SQLite finds it."""
    lo = bisect.bisect_left(words, prefix)
    hi = bisect.bisect_left(words, prefix + WORD_END, lo)
    return lo, hi
