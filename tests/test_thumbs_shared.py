"""Thumbnails in a cache dir shared by several servers: whole files only, whoever writes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mediasrv.children import child_env

from .support import jpeg_bytes, until

pytestmark = pytest.mark.process

WRITER = """
import sys, time
from pathlib import Path
from mediasrv.media.thumbs import _write_atomic
dest, fill, go = Path(sys.argv[1]), sys.argv[2].encode(), Path(sys.argv[3])
while not go.exists():
    time.sleep(0.001)
for _ in range(300):
    _write_atomic(dest, fill * (256 * 1024))
"""

MAKER = """
import asyncio, os, sys, time
from pathlib import Path
from mediasrv.media.thumbs import Thumbnailer
thumbs, real, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
(go.parent / f"ready-{os.getpid()}").touch()  # imports done: waiting at the line
while not go.exists():
    time.sleep(0.001)
async def make():
    thumbnailer = Thumbnailer(thumbs)
    known = thumbnailer.look_up("a.jpg", real, "image")
    return known.found or await thumbnailer.make(known.key, real, "image")
made = asyncio.run(make())
sys.stdout.buffer.write(made.jpeg)
"""


def start(script: str, *args: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                            stdout=subprocess.PIPE, env=child_env())


def test_two_processes_writing_one_thumbnail_never_show_half_of_one(tmp_path: Path) -> None:
    dest, go = tmp_path / "thumbs" / "ab" / "abcd.jpg", tmp_path / "go"
    writers = [start(WRITER, dest, fill, go) for fill in "AB"]
    go.touch()
    wholes = {b"A" * (256 * 1024), b"B" * (256 * 1024)}
    reads = 0
    while any(w.poll() is None for w in writers):
        try:
            seen = dest.read_bytes()
        except FileNotFoundError:
            continue
        assert seen in wholes, f"read {len(seen)} bytes starting {seen[:1]!r}"
        reads += 1
    for writer in writers:
        writer.communicate()
        assert writer.returncode == 0
    assert reads > 0
    assert dest.read_bytes() in wholes
    assert [p.name for p in dest.parent.iterdir()] == ["abcd.jpg"]  # no temp file left over


def test_two_processes_making_the_same_thumbnail(tmp_path: Path) -> None:
    real, thumbs, go = tmp_path / "a.jpg", tmp_path / "thumbs", tmp_path / "go"
    real.write_bytes(jpeg_bytes((2000, 1500)))
    makers = [start(MAKER, thumbs, real, go) for _ in range(2)]
    until(lambda: len(list(tmp_path.glob("ready-*"))) == 2, "both makers waiting at the line")
    go.touch()
    outputs = [maker.communicate()[0] for maker in makers]
    assert [maker.returncode for maker in makers] == [0, 0]
    (made,) = [p for p in thumbs.rglob("*") if p.is_file()]
    assert made.suffix == ".jpg"
    assert outputs[0][:2] == outputs[1][:2] == b"\xff\xd8"  # both whole JPEGs
    assert made.read_bytes() in outputs
