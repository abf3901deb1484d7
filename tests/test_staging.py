"""A build from the staging file (scan/staging.py) writes what the in-memory build writes.

A first walk stages its files in a temporary SQLite file and every build of it
reads them back in natural order (``ORDER BY key, path`` over BLOBs); a list of
records is sorted in Python by ``natural_key``. Both must give the same tables,
whatever the names: digits, letter case, brackets, names that are not UTF-8,
songs whose tags are tags, photos with a date of their own, times in many months.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediasrv.natural import natural_key
from mediasrv.scan import fullbuild
from mediasrv.scan.probe import probe_records
from mediasrv.scan.staging import Staged
from mediasrv.scan.walk import Record, walk

from .support import camera_jpeg, song_bytes
from .support.generations import table_rows

FOLDERS = [
    b"",
    b"A",
    b"a/B",
    b"A/b10",
    b"A/b2",
    b"Beach [sea]",
    b"caf\xe9",
    b"CAF\xc3\xa9",
    b"x/y/z",
    b"\xff dir",
]
NAMES = [
    b"img1",
    b"IMG2",
    b"img10",
    b"img02",
    b"sun[beach]",
    b"x[Beach fam]",
    b"caf\xe9s",
    b"\xfe",
    b"a b",
    b"z[anna][cat]",
]
EXTS = [b".jpg", b".mp3", b".txt", b""]  # no name is a folder's: b"" never clashes
# one song and one photo, made once: their tags and date go through probing
_MEDIA: dict[bytes, bytes] = {}


def media(ext: bytes) -> bytes:
    if ext not in _MEDIA:
        _MEDIA[ext] = (
            song_bytes("mp3", 0.2, artist="Band", album="Beach", genre="Rock")
            if ext == b".mp3"
            else camera_jpeg("EOS R5")
        )
    return _MEDIA[ext]




def make(root: Path, files: list[tuple[bytes, bytes, bytes, bool, int]]) -> None:
    for folder, name, ext, real, month in files:
        path = os.path.join(os.fsencode(root), folder, name + ext)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(media(ext) if real and ext in (b".mp3", b".jpg") else b"")
        mtime = 1_500_000_000 + month * 2_600_000  # about a month apart
        os.utime(path, (mtime, mtime))


def staged_in_batches(directory: Path, records: list[Record], seed: int) -> Staged:
    """``records`` staged folder by folder, the folders in a shuffled order."""
    folders: dict[str, list[Record]] = {}
    for rec in records:
        folders.setdefault(rec.path.rpartition("/")[0], []).append(rec)
    batches = list(folders.values())
    random.Random(seed).shuffle(batches)
    staged = Staged(directory)
    for batch in batches:
        staged.add(batch)
    return staged


files = st.lists(
    st.tuples(
        st.sampled_from(FOLDERS),
        st.sampled_from(NAMES),
        st.sampled_from(EXTS),
        st.booleans(),
        st.integers(0, 40),
    ),
    min_size=1,
    max_size=25,
    unique_by=lambda f: (f[0], f[1], f[2]),
)


@pytest.mark.fuzz
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(found=files, seed=st.integers(0, 1000))
def test_a_build_from_the_staging_file_equals_the_in_memory_build(
    found: list[tuple[bytes, bytes, bytes, bool, int]],
    seed: int,
) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work) / "lib"
        root.mkdir()
        make(root, found)
        records = list(walk(root))
        probed, _ = probe_records(str(root), records)
        staged = staged_in_batches(Path(work), records, seed)
        try:
            assert len(staged) == len(records)
            assert sorted(staged) == sorted(records)
            assert [r.path for r in staged.ordered()] == sorted(
                (r.path for r in records), key=natural_key
            )
            fullbuild.write(Path(work) / "memory.db", 1, records, root=str(root), probed=probed)
            fullbuild.write(Path(work) / "staged.db", 1, staged, root=str(root), probed=probed)
            # Names only (a first walk's parts and build): SQLite writes the files rows.
            fullbuild.write(Path(work) / "names.db", 1, records, root=str(root))
            fullbuild.write(Path(work) / "sql.db", 1, staged, root=str(root))
            # A part: the folders staged first, up to one that ends between the files.
            first = staged.folders[seed % len(staged.folders)].end
            in_part = list(staged)[:first]
            fullbuild.write(Path(work) / "part-names.db", 1, in_part, root=str(root))
            fullbuild.write(Path(work) / "part-sql.db", 1, staged, root=str(root), first=first)
        finally:
            staged.close()
        assert not staged.path.exists()
        assert table_rows(Path(work) / "staged.db") == table_rows(Path(work) / "memory.db")
        assert table_rows(Path(work) / "sql.db") == table_rows(Path(work) / "names.db")
        assert table_rows(Path(work) / "part-sql.db") == table_rows(Path(work) / "part-names.db")


def test_the_staging_file_keeps_names_that_are_not_utf8_and_orders_them_naturally(
    tmp_path: Path,
) -> None:
    records = [
        Record(p, i, 1_600_000_000 * 10**9 + i)
        for i, p in enumerate(
            [
                "b/img10.jpg",
                "b/img2.jpg",
                "B/Img1.jpg",
                "a\udcff/x.jpg",
                "a/x.jpg",
                "a.jpg",
                "caf\udce9.jpg",
                "b/IMG2.jpg",
            ]
        )
    ]
    staged = Staged(tmp_path)
    staged.add(records[:3])
    staged.add(records[3:])
    try:
        assert (
            [r.path for r in staged.ordered()]
            == [
                "a/x.jpg",
                "a.jpg",
                "a\udcff/x.jpg",
                "B/Img1.jpg",
                "b/IMG2.jpg",
                "b/img2.jpg",
                "b/img10.jpg",
                "caf\udce9.jpg",
            ]
            == sorted((r.path for r in records), key=natural_key)
        )
        assert list(staged) == records  # the walk's order
        assert staged.path.parent == tmp_path and staged.path.name.endswith(".db.tmp")
    finally:
        staged.close()
    assert list(tmp_path.iterdir()) == []


def test_a_prefix_of_whole_folders_and_the_names_in_it(tmp_path: Path) -> None:
    """What a first walk's part is cut to (``progressive.Prefixes.due``): whole folders,
    in the order the walk found them; and the distinct names a part of them has (a part
    of 4k files at 1M took 2.5 s when it was given all 86k names staged so far)."""
    staged = Staged(tmp_path)
    try:
        for folder, names in (("b", "x0 x1 x2"), ("a", "y0 x0"), ("c/d", "z0 x1 z1 z2")):
            staged.add([Record(f"{folder}/{name}.jpg", 1, 1) for name in names.split()])
        assert [f.end for f in staged.folders] == [3, 5, 9]
        assert [staged.whole(n) for n in (0, 2, 3, 4, 5, 8, 9, 100)] == [0, 0, 3, 3, 5, 5, 9, 9]
        names = ["x0.jpg", "x1.jpg", "x2.jpg", "y0.jpg", "z0.jpg", "z1.jpg", "z2.jpg"]
        assert staged.names() == names
        assert [staged.names(n) for n in (0, 3, 5, 9)] == [[], names[:3], names[:4], names]
    finally:
        staged.close()
