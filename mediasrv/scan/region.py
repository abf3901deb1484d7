"""A targeted scan: list only the folders that a set of changed paths touched.

A changed path (a file or a folder, relative to the root, as the watcher or
``POST /api/rescan?path=`` names it) touches the folder holding it, and its
whole subtree when it is a folder now. Listing a touched folder finds its
files; its subfolders are compared with the index: a new one is walked whole,
a vanished one takes its whole subtree out of the index, one that is still
there is left alone (its own changes come with their own paths).

The result maps every folder whose contents are now known to its files (an
empty list: it holds none any more). Anything a targeted scan cannot place
exactly raises NeedFullWalk, and the scan walks everything instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .fallback import NeedFullWalk
from .walk import Record, WalkStats, list_folder, walk


def touched(paths: Iterable[str], root_real: str) -> tuple[set[str], set[str]]:
    """(folders to list, subtrees to walk whole) for ``paths``."""
    shallow: set[str] = set()
    deep: set[str] = set()
    for raw in paths:
        path = raw.strip("/")
        parts = path.split("/") if path else []
        if not parts:
            raise NeedFullWalk("the root itself changed")
        if any(p in ("", ".", "..") for p in parts):
            raise NeedFullWalk(f"not a plain relative path: {raw!r}")
        if any(p.startswith(".") for p in parts):
            continue  # hidden: never indexed
        shallow.add("/".join(parts[:-1]))
        real = os.path.join(root_real, path)
        if os.path.islink(real):
            if os.path.isdir(real):
                raise NeedFullWalk(f"{raw!r} is a symlink to a folder")
        elif os.path.isdir(real):
            deep.add(path)
    return shallow, deep


def _children(indexed: set[str]) -> dict[str, set[str]]:
    """Every indexed folder and every folder above one -> the names of its subfolders."""
    children: dict[str, set[str]] = {}
    for folder in indexed:
        parts = folder.split("/") if folder else []
        for i in range(len(parts)):
            children.setdefault("/".join(parts[:i]), set()).add(parts[i])
        children.setdefault(folder, set())
    return children


def _ancestors(path: str) -> list[str]:
    """The folders above ``path``, the root ('') included."""
    parts = path.split("/") if path else []
    return ["/".join(parts[:i]) for i in range(len(parts))]


def _under(path: str, folder: str) -> bool:
    return not folder or path == folder or path.startswith(folder + "/")


class _Region:
    """The listings of a targeted scan as they are found (see ``list_region``)."""

    def __init__(self, root: Path, indexed: set[str], exclude: list[Path],
                 stats: WalkStats) -> None:
        self.root = root
        self.root_real = os.path.realpath(root)
        self.excluded = {os.path.realpath(p) for p in exclude}
        self.exclude = exclude
        self.indexed = indexed
        self.prefixes = _children(indexed)
        self.stats = stats
        self.listings: dict[str, list[Record]] = {}
        self.walked: set[str] = set()

    def gone(self, folder: str) -> None:
        for known in self.indexed:
            if _under(known, folder):
                self.listings[known] = []

    def walked_over(self, folder: str) -> bool:
        return any(_under(folder, w) for w in self.walked)

    def walk_whole(self, folder: str) -> None:
        self.walked.add(folder)
        self.gone(folder)  # what the walk does not find again is gone
        # A folder of the subtree listed already (a changed file's folder that
        # the index did not have) is listed again by the walk: once only.
        for known in [k for k in self.listings if _under(k, folder)]:
            self.listings[known] = []
        linked = self.stats.linked_folders
        for rec in walk(self.root, exclude=self.exclude, stats=self.stats, start=folder):
            self.listings.setdefault(rec.path.rpartition("/")[0], []).append(rec)
        if self.stats.linked_folders > linked:
            raise NeedFullWalk(f"{folder!r} holds a symlinked folder")

    def list_one(self, folder: str) -> str | None:
        """List ``folder``; returns the folder to list next when this one is gone."""
        listed = list_folder(os.path.join(self.root_real, folder),
                             folder + "/" if folder else "", self.root_real, self.excluded,
                             self.stats)
        if listed is None:  # the folder itself is gone (or unreadable): so is its subtree
            if not os.path.lexists(os.path.join(self.root_real, folder)):
                self.gone(folder)
                return folder.rpartition("/")[0] if folder else None
            raise NeedFullWalk(f"cannot list {folder!r}")
        records, subfolders = listed
        self.listings[folder] = records
        now = {sub.rel.rpartition("/")[2] for sub in subfolders}
        for name in self.prefixes.get(folder, set()) - now:
            self.gone(f"{folder}/{name}" if folder else name)
        for sub in subfolders:
            if sub.linked:
                raise NeedFullWalk(f"{sub.rel!r} is a symlinked folder")
            if sub.rel not in self.prefixes and not self.walked_over(sub.rel):
                self.walk_whole(sub.rel)
        return None


def list_region(
    root: Path, shallow: set[str], deep: set[str], indexed: Iterable[str], *,
    exclude: list[Path], stats: WalkStats,
) -> dict[str, list[Record]]:
    """Every folder whose contents the changes touched, with its files now."""
    region = _Region(root, set(indexed), exclude, stats)
    tops = {d for d in deep if not any(a in deep for a in _ancestors(d))}
    for folder in sorted(tops):
        region.walk_whole(folder)
    queue = sorted(s for s in shallow
                   if s not in tops and not any(a in tops for a in _ancestors(s)))
    listed_already: set[str] = set()
    while queue:
        folder = queue.pop()
        if folder in listed_already or region.walked_over(folder):
            continue
        listed_already.add(folder)
        parent = region.list_one(folder)
        if parent is not None:
            queue.append(parent)
    return region.listings
