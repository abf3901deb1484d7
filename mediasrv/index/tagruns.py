"""Tag runs: where a tag's files are, as stretches of folders.

A tag's files, in the tag's (natural path) order, are cut into runs: each run
is consecutive files of one folder, at consecutive positions in that folder
(``folder_id``, ``first``, ``count``). A run is as long as it can be, so one
tree always gives the same runs, whether a full build or a delta build made
them. See ``migrations/0002_delta.sql``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple


class Run(NamedTuple):
    folder_id: int
    first: int  # pos of the run's first file in its folder
    length: int  # files in the run (tag_runs.count)

    @property
    def end(self) -> int:
        return self.first + self.length


def merged(pieces: Iterable[Run]) -> list[Run]:
    """``pieces`` (in tag order) with neighbours of one folder that continue each other joined."""
    out: list[Run] = []
    for piece in pieces:
        if out:
            last = out[-1]
            if last.folder_id == piece.folder_id and last.end == piece.first:
                out[-1] = Run(last.folder_id, last.first, last.length + piece.length)
                continue
        out.append(piece)
    return out


def with_starts(runs: Iterable[Run], start: int = 0) -> Iterator[tuple[int, int, int, int]]:
    """(start, folder_id, first, count) of each run; ``start`` is its first position in the tag."""
    for run in runs:
        yield start, run.folder_id, run.first, run.length
        start += run.length
