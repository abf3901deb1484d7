"""A full build's tags: how each is spelled, and the runs of files each holds.

``fullbuild._collect`` gives every folder's tags and the files that have tags
of their own (``Bracketed``); these turn them into the ``tag_spellings``
counts and the ``tag_runs`` of every tag, holding per-folder state and one
entry per file with tags of its own, never one per file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from functools import partial
from typing import Any

from ..index.tagruns import Run, merged, with_starts
from ..names import ALL_KEY, db_text, folder_tags, tag_key

# (folder id, pos, the tags (keys) a file adds to its folder's, file id)
Bracketed = tuple[int, int, list[str], int]


class Spellings:
    """How many files carry each spelling of each tag (``counts``: key -> spelling ->
    files), counted as ``fullbuild._collect`` meets the files with tags of their own.
    """

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self._key_of: dict[str, str] = {}
        # (folder id, bracket tags) -> (spellings its folder lacks, keys its folder lacks):
        # names in a folder repeat their brackets ([anna], [anna cat]), so each is worked
        # out once per stretch of the folder's files (forgotten at the next folder).
        self._done: dict[tuple[int, tuple[str, ...]], tuple[list[str], list[str]]] = {}
        self._folder = -1
        self._spelled: set[str] = set()
        # bracket tags as a file names them -> (each spelling once, each key once), in
        # order: the same brackets come back in folder after folder.
        self._distinct: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def add(
        self,
        folder_id: int,
        folder: str,
        keys: list[str],
        bracket: list[str],
    ) -> list[str]:
        """Count a file's own tags as spelled (``bracket``) that its folder (``folder``,
        tags ``keys``) lacks; the tags (keys) it adds to its folder's."""
        if folder_id != self._folder:
            self._folder, self._spelled = folder_id, set(folder_tags(folder))
            self._done.clear()
        spelled = tuple(bracket)
        memo = (folder_id, spelled)
        worked = self._done.get(memo)
        if worked is None:
            distinct = self._distinct.get(spelled)
            if distinct is None:
                key_of = self._key_of
                for name in bracket:
                    if name not in key_of:
                        key_of[name] = tag_key(name)
                distinct = self._distinct[spelled] = (
                    tuple(dict.fromkeys(bracket)), tuple(dict.fromkeys(key_of[n] for n in bracket)))
            names, tag_keys = distinct
            worked = self._done[memo] = (
                [name for name in names if name not in self._spelled],
                [key for key in tag_keys if key not in keys],
            )
        new, extra = worked
        for name in new:
            spellings = self.counts.setdefault(self._key_of[name], {})
            spellings[name] = spellings.get(name, 0) + 1
        return extra

    def finish(self, folders: Mapping[str, list[Any]]) -> dict[str, dict[str, int]]:
        """``counts``, with the spellings of every folder's tags counted in (once every
        file is in: a folder's spellings are carried by all of its files)."""
        counts = self.counts
        for folder, (_, _, _, files, _) in folders.items():
            for name in folder_tags(folder):
                found = counts.setdefault(tag_key(name), {})
                found[name] = found.get(name, 0) + files
        return counts


def tag_runs(
    all_runs: list[Run], folders: Mapping[str, list[Any]], bracketed: list[Bracketed]
) -> dict[str, list[Run]]:
    """Every tag's runs, from the runs of ``All`` and the files with tags of their own.

    A folder tag holds whole folders, so it takes whole runs of ``All``; a
    file's own tag (a bracket tag, a song's artist) takes single files. Both
    are visited in ``All`` order, so each tag's pieces arrive in its own order
    and only need merging.
    """
    tags_of_folder = {fid: tags for fid, tags, _, _, _ in folders.values()}
    brackets: dict[int, list[tuple[int, list[str]]]] = {}
    for folder_id, pos, extra, _ in bracketed:
        brackets.setdefault(folder_id, []).append((pos, extra))
    pieces: dict[str, list[Run]] = {ALL_KEY: []}
    single = partial(tuple.__new__, Run)  # no Python frame per file with tags of its own
    for run in all_runs:
        folder_id, first, length = run
        for tag in tags_of_folder[folder_id]:
            found = pieces.get(tag)
            if found is None:
                pieces[tag] = [run]
            else:
                found.append(run)
        for pos, extra in brackets.get(folder_id, ()):
            if first <= pos < first + length:
                for tag in extra:
                    found = pieces.get(tag)
                    if found is None:
                        found = pieces[tag] = []
                    found.append(single((folder_id, pos, 1)))
    return {tag: merged(found) for tag, found in pieces.items()}


def insert(conn: sqlite3.Connection, tag_ids: Mapping[str, int], names: Mapping[str, str],
           spellings: Mapping[str, Mapping[str, int]], runs: Mapping[str, list[Run]]) -> None:
    """The tags, tag_spellings and tag_runs rows of a full build: ``tag_ids`` in id order,
    each tag's shown name (``names``), spellings and runs."""
    conn.executemany(
        "INSERT INTO tags (id, name, name_bytes, file_count, key) VALUES (?, ?, ?, ?, ?)",
        ((tag_id, *db_text(names[key]), sum(r.length for r in runs[key]), key)
         for key, tag_id in tag_ids.items()),
    )
    conn.executemany(
        "INSERT INTO tag_spellings VALUES (?, ?, ?, ?)",
        ((tag_ids[key], *db_text(name), n) for key in tag_ids
         for name, n in sorted(spellings.get(key, {}).items())),
    )
    conn.executemany(
        "INSERT INTO tag_runs VALUES (?, ?, ?, ?, ?)",
        ((tag_id, *run) for key, tag_id in tag_ids.items() for run in with_starts(runs[key])),
    )
