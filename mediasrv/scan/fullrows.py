"""What one pass over a full build's files gathers for the tables after ``files``."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from ..index.tagruns import Run
from ..names import folder_tags, search_words, tag_keys
from . import fulltags
from .fulltags import Bracketed


@dataclass
class Rows:
    """One pass over a scan's files in natural order (``fullbuild._collect`` or
    ``stagedrows.collect``): everything the tables need."""

    files: int = 0
    # folder path -> [id, folder tags (keys), folder words, files so far, its first file's id]
    # (``folder_entry``)
    folders: dict[str, list[Any]] = field(default_factory=dict)
    all_runs: list[Run] = field(default_factory=list)  # All's runs
    # (folder id, pos, the tags (keys) its folder lacks of a file's own tags: its name's
    # bracket tags, a song's artist, album, genre, file id) of each file that has any
    bracketed: list[Bracketed] = field(default_factory=list)
    spelled: fulltags.Spellings = field(default_factory=fulltags.Spellings)
    # each distinct file name -> (ext, kind)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)


def folder_entry(folder_id: int, folder: str, files: int, first: int) -> list[Any]:
    """A folder's entry in ``Rows.folders``: its tags (keys) and its path's words as
    tuples of interned strings. Folders share most of them (``trip``, ``2019``): held
    once, the scan process peaked ~115 MB lower on 500k files in 100k folders."""
    intern = sys.intern
    return [folder_id, tuple(map(intern, tag_keys(folder_tags(folder)))),
            tuple(map(intern, search_words(folder))), files, first]
