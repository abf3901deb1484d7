"""Files a scan saw move: a removed path and an added path with the same size and mtime.

A rename or a move (``mv``, a file manager's drag) keeps a file's size and
its modification time to the nanosecond, so a file that vanished from one
path and appeared at another in the same scan, with the same (size,
mtime_ns), is taken to be the same file. Only pairings that are certain are
reported: a (size, mtime_ns) shared by two removed or two added files (copies
made with ``cp -p``, empty files touched together) pairs nothing. Favourites
follow these moves (``favourites.py``); the scan only reports them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

# The moves one scan reports, counted in characters of their paths: the
# report travels as one JSON line from the scan process (children.LINE_LIMIT,
# 1 MiB), and a move of thousands of files is better left unreported than
# failing the scan. (Names that are not UTF-8 grow sixfold as JSON; if the
# line is still too long, the scan process drops the moves.)
MAX_CHARS = 256_000

Stat = tuple[str, int, int]  # (exact path, size, mtime_ns)


def pair(removed: Iterable[Stat], added: Iterable[Stat]) -> list[tuple[str, str]]:
    """(old path, new path) of each file that moved; at most ``MAX_CHARS`` of paths."""
    gone = list(removed)
    if not gone:
        return []  # the usual scan: nothing removed, nothing to look at
    fresh = list(added)
    gone_counts = Counter((size, mtime) for _, size, mtime in gone)
    fresh_counts = Counter((size, mtime) for _, size, mtime in fresh)
    new_path = {(size, mtime): path for path, size, mtime in fresh
                if fresh_counts[size, mtime] == 1 and gone_counts[size, mtime] == 1}
    moves, chars = [], 0
    for path, size, mtime in gone:
        target = new_path.get((size, mtime))
        if target is None:
            continue
        chars += len(path) + len(target)
        if chars > MAX_CHARS:
            break
        moves.append((path, target))
    return moves


def after_walk(rows: Iterable[Stat], records: Iterable[Stat],
               fresh: Sequence[Stat]) -> list[tuple[str, str]]:
    """The moves between a generation's ``rows`` and a whole walk's ``records``.

    ``fresh`` are the records whose paths the rows do not have.
    """
    if not fresh:
        return []
    now = {path for path, _, _ in records}
    return pair((row for row in rows if row[0] not in now), fresh)
