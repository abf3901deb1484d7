"""Libraries on disk: a tree of files from a dict, the small tree most tests use."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

Tree = Mapping[str | bytes, bytes | str]


def make_tree(root: Path, files: Tree, *, mtime: int | None = 1_600_000_000) -> Path:
    """Create ``files`` ({relative path: content}) under ``root``; returns root.

    A ``bytes`` path is written byte-exact (for names that are not UTF-8).
    ``mtime`` is set on every file so that sizes and times are predictable.
    """
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        raw = rel if isinstance(rel, bytes) else rel.encode()
        path = os.path.join(os.fsencode(root), raw)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return root


SMALL_TREE: dict[str | bytes, bytes | str] = {
    "Trips/2024/Beach/img1.jpg": b"a" * 10,
    "Trips/2024/Beach/img2.jpg": b"b" * 20,
    "Trips/2024/Beach/img10.jpg": b"c" * 30,
    "Trips/2024/Beach/sunset[beach family].jpg": b"d" * 40,
    "Trips/2023/Lake/clip.mp4": b"e" * 50,
    "Music/song.mp3": b"f" * 60,
    "notes.txt": b"g" * 70,
}


def many_files(root: Path, count: int) -> None:
    """``count`` empty files in folders of 100: enough that a build takes a while."""
    for i in range(0, count, 100):
        folder = root / f"f{i // 100}"
        folder.mkdir(parents=True)
        for j in range(100):
            (folder / f"{j}.jpg").touch()
