"""A big build's sort=taken chunks and months, written by a process of their own
(scan/takenproc.py), are those the build writes in process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mediasrv.scan import sideproc
from mediasrv.scan.probe import probe_records
from mediasrv.scan.walk import walk

from .support import camera_jpeg, song_bytes
from .support.generations import build_of, table_rows

pytestmark = pytest.mark.process


def library(root: Path) -> Path:
    """Files in many months and folders, names with bracket tags, a photo with a date of
    its own and a song whose tags are tags."""
    for i in range(60):
        folder = root / ["", "Trips/Beach [sea]", "Trips/Alps", "caf\xe9"][i % 4]
        folder.mkdir(parents=True, exist_ok=True)
        name = [f"img{i}.jpg", f"sun{i}[beach anna].jpg", f"IMG{i:03d}.png", f"x{i}.txt"][i // 15]
        path = folder / name
        path.write_bytes(b"")
        stamp = 1_500_000_000 + (i * 7919 % 60) * 2_600_000  # about a month apart, shuffled
        os.utime(path, (stamp, stamp))
    (root / "Trips" / "photo.jpg").write_bytes(camera_jpeg("EOS R5"))
    (root / "song.mp3").write_bytes(song_bytes("mp3", 0.2, artist="Band", album="Beach"))
    return root


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``build(name, apart)``: a generation of the library, its taken order written in a
    process of its own or not; every build from the same records."""
    root = library(tmp_path / "lib")
    records = list(walk(root))
    probed, _ = probe_records(str(root), records)

    def build(name: str, *, apart: bool, staged: bool = False) -> Path:
        monkeypatch.setattr(sideproc, "APART_FROM", 1 if apart else 10**9)
        # Staged: names only (nothing probed), so SQLite writes the files rows.
        options = {} if staged else {"probed": probed}
        return build_of(tmp_path / f"{name}.db", root, records, staged=staged, **options)

    return build


def test_the_taken_order_written_apart_is_the_one_written_in_process(built, tmp_path: Path):
    inside, apart = built("inside", apart=False), built("apart", apart=True)
    rows = table_rows(apart)
    assert rows == table_rows(inside)
    assert len(rows["tag_taken"]) >= 5 and len(rows["tag_months"]) >= 20  # not empty
    assert not list(tmp_path.glob("*.tmp"))  # the side file is gone
    assert table_rows(built("staged-apart", apart=True, staged=True)) == table_rows(
        built("staged-inside", apart=False, staged=True))


def test_a_failed_taken_process_fails_the_build_and_leaves_nothing(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(
        sideproc.children, "command",
        lambda *args: [sys.executable, "-c", "import sys; sys.exit('no space left on device')"])
    with pytest.raises(RuntimeError, match="status 1: no space left on device"):
        built("failed", apart=True)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_taken_process_that_cannot_start_fails_the_build_and_leaves_nothing(
    built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
):
    def no_process(*args: object, **kwargs: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(sideproc.subprocess, "Popen", no_process)
    with pytest.raises(OSError, match="Cannot allocate memory"):
        built("no-child", apart=True)
    assert not list(tmp_path.glob("*.tmp"))
