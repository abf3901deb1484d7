"""Natural order of ``/``-paths: folder by folder, case ignored, ``img2`` before ``img10``.

Every order a tag has in the index starts from these keys: the full build
makes them a batch at a time as the walk finds folders, the delta build one
path at a time, and both must agree exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_DIGITS = re.compile(r"[0-9]+")


def _pad_number(match: re.Match[str]) -> str:
    digits = match.group().lstrip("0") or "0"
    return f"{len(digits):04d}{digits}"


def natural_key(path: str) -> tuple[str, str]:
    """Sort key for a ``/``-path: folder by folder, ``img2`` before ``img10``.

    Case is ignored, every run of digits compares as a number (it is padded
    with its length), and ``/`` becomes NUL so that a folder's contents sort
    before a sibling whose name merely starts with the folder's name. Ties
    (``a.JPG`` and ``a.jpg``) are broken by the exact string, so the order is
    total and the same on every run.
    """
    return (_DIGITS.sub(_pad_number, path.casefold()).replace("/", "\0"), path)


def natural_keys(paths: Iterable[str]) -> list[tuple[str, str]]:
    """``natural_key`` of each path, the same keys, with each folder's part computed once.

    Sound because case folding works character by character and a run of
    digits never spans a ``/``.
    """
    keys: list[tuple[str, str]] = []
    NaturalKeys(keys).add(paths)
    return keys


class NaturalKeys:
    """``natural_keys`` made a batch at a time (as a walk finds folders), into ``keys``;
    what each folder and each name gives is remembered across batches."""

    def __init__(self, keys: list[tuple[str, str]] | None = None) -> None:
        self.keys = [] if keys is None else keys
        self.heads: dict[str, str] = {}
        self.tails: dict[str, str] = {}  # names repeat across folders, too

    def add(self, paths: Iterable[str]) -> None:
        heads, tails, append = self.heads, self.tails, self.keys.append
        for path in paths:
            folder, sep, name = path.rpartition("/")
            head = heads.get(folder)
            if head is None:
                padded = _DIGITS.sub(_pad_number, folder.casefold()).replace("/", "\0")
                head = heads[folder] = padded + "\0" if sep else ""
            tail = tails.get(name)
            if tail is None:
                tail = tails[name] = _DIGITS.sub(_pad_number, name.casefold())
            append((head + tail, path))
