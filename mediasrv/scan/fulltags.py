"""A full build's tags: how each is spelled, and the runs of files each holds.

``fullbuild._collect`` gives every folder's tags and the files that have tags
of their own (``Bracketed``); these turn them into the ``tag_spellings``
counts and the ``tag_runs`` of every tag, holding per-folder state and one
entry per file with tags of its own, never one per file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..index.tagruns import Run, merged
from ..names import ALL_KEY, folder_tags, tag_key

# (folder id, pos, a file's own tags, file id) of a file with tags of its own
Bracketed = tuple[int, int, list[str], int]


def spellings(
    folders: Mapping[str, list[Any]],
    bracketed: list[Bracketed],
) -> tuple[dict[str, dict[str, int]], list[Bracketed]]:
    """How many files carry each spelling of each tag (key -> spelling -> files).

    And ``bracketed`` turned from spellings into the tags (keys) each name
    adds to its folder's (files that add none left out).
    """
    counts: dict[str, dict[str, int]] = {}
    spelled_in: dict[int, tuple[set[str], list[str]]] = {}  # folder id -> spellings, keys
    for folder, (folder_id, keys, _, files, _) in folders.items():
        names = folder_tags(folder)
        spelled_in[folder_id] = (set(names), keys)
        for name in names:
            found = counts.setdefault(tag_key(name), {})
            found[name] = found.get(name, 0) + files
    kept: list[Bracketed] = []
    key_of: dict[str, str] = {}
    # (folder id, bracket tags) -> (spellings its folder lacks, keys its folder lacks):
    # names in a folder repeat their brackets ([anna], [anna cat]), so each is worked out once.
    done: dict[tuple[int, tuple[str, ...]], tuple[list[str], list[str]]] = {}
    for folder_id, pos, bracket, file_id in bracketed:
        memo = (folder_id, tuple(bracket))
        worked = done.get(memo)
        if worked is None:
            spelled, keys = spelled_in[folder_id]
            for name in bracket:
                if name not in key_of:
                    key_of[name] = tag_key(name)
            worked = done[memo] = (
                [name for name in dict.fromkeys(bracket) if name not in spelled],
                [key for key in dict.fromkeys(key_of[n] for n in bracket) if key not in keys],
            )
        new, extra = worked
        for name in new:
            spellings = counts.setdefault(key_of[name], {})
            spellings[name] = spellings.get(name, 0) + 1
        if extra:
            kept.append((folder_id, pos, extra, file_id))
    return counts, kept


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
    for run in all_runs:
        for tag in tags_of_folder[run.folder_id]:
            pieces.setdefault(tag, []).append(run)
        for pos, extra in brackets.get(run.folder_id, ()):
            if run.first <= pos < run.end:
                for tag in extra:
                    pieces.setdefault(tag, []).append(Run(run.folder_id, pos, 1))
    return {tag: merged(found) for tag, found in pieces.items()}
