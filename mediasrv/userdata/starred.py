"""A generation seen with the user's stars: ``favourite`` on every file, and a Favourites tag.

``Stars.view(snapshot)`` wraps the snapshot a request leases (``Library``
applies it), so every handler, page or JSON, gets the same answers whichever
backend serves the generation: the flag is added here, in one place, after
the backend answers.

The ``Favourites`` tag is not in any generation. Its files are the starred
paths that the generation has, in natural order, found with one lookup
(``Snapshot.lookup``) and kept per (generation, version of the stars): stars
are few, so a page, a file's neighbours or a random pick of the tag is a
list operation. A library tag of the same name (a folder called Favourites)
is hidden behind it; its files keep their other tags.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ..index.dateorder import sort_time
from ..index.months import month_of
from ..names import ALL_TAG, search_words, tag_key
from ..snapshot import Neighbours, Snapshot
from ..snapshot.rendered import Rendering
from .favourites import Favourites

FAVOURITES_TAG = "Favourites"


def _starred(tag: str) -> bool:
    """Whether ``tag`` names the stars' tag, in any letter case (as every tag is named)."""
    return tag_key(tag) == "favourites"


class Stars:
    """The favourites and, per generation, which of its files carry a star."""

    def __init__(self, favourites: Favourites) -> None:
        self.favourites = favourites
        self._present: dict[tuple[int, int], list[dict[str, Any]]] = {}

    def view(self, snapshot: Snapshot) -> Snapshot:
        """``snapshot`` with stars (what Library hands a request)."""
        self.favourites.notice_changes()
        return StarredSnapshot(snapshot, self)

    async def present(self, snapshot: Snapshot) -> list[dict[str, Any]]:
        """The starred files ``snapshot`` has, in natural order."""
        key = (snapshot.generation, self.favourites.version)
        found = self._present.get(key)
        if found is None:
            found = await snapshot.lookup(self.favourites.paths())
            for file in found:
                file["favourite"] = True
            # Requests on the generation before a swap may still be running: keep two.
            for old in sorted(self._present)[:-1]:
                del self._present[old]
            self._present[key] = found
        return [dict(file) for file in found]


class StarredSnapshot(Snapshot):
    """One leased generation, answering with stars (see the module's docstring)."""

    def __init__(self, inner: Snapshot, stars: Stars) -> None:
        super().__init__(inner.path, inner.meta)
        self.state = inner.state
        self._inner = inner
        self._stars = stars

    def _mark(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        favourites = self._stars.favourites
        for file in files:
            file["favourite"] = file["path"] in favourites
        return files

    def _marked(self, file: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if file is None else self._mark([file])[0]

    async def tags(self) -> list[tuple[str, int]]:
        found = [(name, count) for name, count in await self._inner.tags()
                 if not _starred(name)]
        at = 1 if found and found[0][0] == ALL_TAG else 0
        found.insert(at, (FAVOURITES_TAG, len(await self._stars.present(self._inner))))
        return found

    async def tag_name(self, tag: str) -> str:
        return FAVOURITES_TAG if _starred(tag) else await self._inner.tag_name(tag)

    async def page(
        self, tag: str, offset: int, limit: int, sort: str = "name",
    ) -> tuple[int, list[dict[str, Any]]]:
        if _starred(tag):
            files = await self._favourites(sort)
            return len(files), files[max(offset, 0):max(offset + limit, 0)]
        total, files = await self._inner.page(tag, offset, limit, sort)
        return total, self._mark(files)

    async def page_rendered(
        self, tag: str, offset: int, limit: int, sort: str, rendering: Rendering,
    ) -> tuple[int, list[tuple[str, str]]]:
        if _starred(tag):
            total, files = await self.page(tag, offset, limit, sort)
            return total, [(file["path"], rendering.python(file, n))
                           for n, file in enumerate(files, max(offset, 0))]
        total, found = await self._inner.page_rendered(tag, offset, limit, sort, rendering)
        starred = self._stars.favourites.among(path for path, _ in found)
        if not starred:
            return total, found
        # The inner text shows no star: write the starred files' again (a page has few).
        marked = {file["path"]: file for file in self._mark(await self._inner.lookup(starred))}
        return total, [(path, rendering.python(marked[path], n) if path in marked else text)
                       for n, (path, text) in enumerate(found, max(offset, 0))]

    async def get(self, path: str) -> dict[str, Any]:
        return self._mark([await self._inner.get(path)])[0]

    async def _details(self, path: str) -> Sequence[Any] | None:
        return await self._inner._details(path)

    async def lookup(self, paths: Collection[str]) -> list[dict[str, Any]]:
        return self._mark(await self._inner.lookup(paths))

    async def random(self, tag: str, draws: Sequence[float]) -> list[dict[str, Any]]:
        if not _starred(tag):
            return self._mark(await self._inner.random(tag, draws))
        files = await self._stars.present(self._inner)
        at = [int(draw * len(files)) for draw in draws]  # as the backends pick
        return [files[i] for i in at if 0 <= i < len(files)]

    async def covers(self) -> dict[str, dict[str, Any]]:
        found = {tag: self._marked(dict(file))  # a copy: the backend keeps its answer
                 for tag, file in (await self._inner.covers()).items()}
        newest = await self._favourites("taken")
        # A folder of that name, in any letter case, is hidden behind the stars.
        found = {tag: file for tag, file in found.items() if not _starred(tag)}
        if newest:
            found[FAVOURITES_TAG] = newest[0]
        return {tag: file for tag, file in found.items() if file is not None}

    async def folder_names(self) -> tuple[frozenset[str], frozenset[str]]:
        return await self._inner.folder_names()

    async def months(self, tag: str) -> list[tuple[int, int]]:
        if not _starred(tag):
            return await self._inner.months(tag)
        found: dict[int, int] = {}
        for file in await self._favourites("taken"):  # newest first: months come in order
            month = month_of(sort_time(file["taken_ns"], file["mtime_ns"]))
            found[month] = found.get(month, 0) + 1
        return list(found.items())

    # The shared rules (an unknown tag, an empty query) stay Snapshot's: these answer
    # its primitive lookups, the inner snapshot's own for every other tag.

    async def _favourites(self, sort: str) -> list[dict[str, Any]]:
        """The starred files in ``sort`` order (by time taken: newest first, the exact
        reverse of oldest first, as the backends order a tag)."""
        files = await self._stars.present(self._inner)
        if sort == "taken":
            at = {id(file): i for i, file in enumerate(files)}  # natural order breaks ties
            files.sort(key=lambda f: (sort_time(f["taken_ns"], f["mtime_ns"]), at[id(f)]),
                       reverse=True)
        return files

    async def _neighbours(self, path: str, tag: str, sort: str) -> Neighbours | None:
        if not _starred(tag):
            found = await self._inner._neighbours(path, tag, sort)
            if found is None:
                return None
            return Neighbours(self._mark([found.file])[0], tag, found.position, found.total,
                              self._marked(found.prev), self._marked(found.next))
        files = await self._favourites(sort)
        at = next((i for i, file in enumerate(files) if file["path"] == path), None)
        if at is None:
            return None
        return Neighbours(files[at], tag, at, len(files), files[at - 1] if at > 0 else None,
                          files[at + 1] if at + 1 < len(files) else None)

    async def _known(self, path: str, tag: str) -> tuple[bool, bool]:
        if not _starred(tag):
            return await self._inner._known(path, tag)
        return True, (await self._inner._known(path, ALL_TAG))[1]

    async def _search(self, words: list[str], limit: int, tag: str) -> list[dict[str, Any]]:
        if not _starred(tag):
            return self._mark(await self._inner._search(words, limit, tag))
        found = []
        for file in await self._stars.present(self._inner):
            have = search_words(file["path"])
            if all(any(w.startswith(word) for w in have) for word in words):
                found.append(file)
        return found[:limit]
