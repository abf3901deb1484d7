"""``mediasrv scan``'s progress display: a bar on a terminal, plain lines in a log."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

from mediasrv import cli
from mediasrv.settings import Settings

from .support import jpeg_bytes, make_tree


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_one_per_phase_and_when_probing_ends() -> None:
    out, clock = io.StringIO(), Clock()
    show = cli.ProgressLine(out, clock=clock)
    show({"phase": "walking", "files": 0})
    show({"phase": "walking", "files": 500})
    clock.now += 1
    show({"phase": "probing", "files": 900, "done": 0, "total": 40})
    show({"phase": "probing", "files": 900, "done": 10, "total": 40})
    show({"phase": "probing", "files": 900, "done": 40, "total": 40})
    show({"phase": "building", "files": 900})
    show.done()
    assert out.getvalue() == (
        "walking: 500 files  0s\n"
        "probing: 0/40 files  1s\n"
        "probing: 40/40 files  1s\n"
        "building: 900 files  1s\n"
    )


def test_plain_lines_repeat_while_a_long_phase_lasts() -> None:
    out, clock = io.StringIO(), Clock()
    show = cli.ProgressLine(out, every=5.0, clock=clock)
    for seconds in range(12):
        clock.now = 100.0 + seconds
        show({"phase": "walking", "files": seconds * 1000})
    assert out.getvalue() == (
        "walking: 1,000 files  1s\nwalking: 6,000 files  6s\nwalking: 11,000 files  11s\n"
    )


def test_nothing_is_printed_before_a_phase_has_counted_something() -> None:
    for out in (io.StringIO(), Terminal()):
        clock = Clock()
        show = cli.ProgressLine(out, clock=clock)
        show({"phase": "walking", "files": 0})
        assert out.getvalue() == ""
        show({"phase": "comparing", "files": 0})
        assert out.getvalue() == ""
        show({"phase": "comparing", "files": 12})
        assert "comparing" in out.getvalue() and "walking" not in out.getvalue()


def test_a_terminal_gets_a_bar_rewritten_in_place() -> None:
    out, clock = Terminal(), Clock()
    show = cli.ProgressLine(out, clock=clock)
    show({"phase": "probing", "files": 100, "done": 6, "total": 24})
    show.done()
    assert out.getvalue() == (
        "\r\x1b[Kprobing    [######..................] 6/24  0s" "\r\x1b[K"
    )


def test_a_terminal_is_redrawn_at_most_ten_times_a_second() -> None:
    out, clock = Terminal(), Clock()
    show = cli.ProgressLine(out, clock=clock)
    for i in range(50):  # 50 events in 0.49 s
        clock.now = 100.0 + i / 100
        show({"phase": "walking", "files": i})
    show.done()
    assert out.getvalue().count("\r\x1b[K") == 5 + 1


def test_a_log_line_clears_the_bar_first() -> None:
    out = Terminal()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        show = cli.ProgressLine(out, clock=Clock())
        show({"phase": "walking", "files": 3})
        logging.getLogger("mediasrv.test").warning("something to say")
        show.done()
        logging.getLogger("mediasrv.test").warning("after")
    finally:
        root.removeHandler(handler)
    assert out.getvalue() == (
        "\r\x1b[Kwalking    3 files  0s" "\r\x1b[Ksomething to say\n" "\r\x1b[K" "after\n"
    )


def test_scan_command_prints_probe_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"a.jpg": jpeg_bytes((4, 4)), "b.jpg": b"broken", "c.txt": "x"}
    root = make_tree(tmp_path / "lib", files)
    out = io.StringIO()
    code = cli.scan(Settings(root=root, cache_dir=tmp_path / "cache"), out=out)
    assert code == 0
    assert re.search(r"probed 1 new or changed files; 1 could not be read \(corrupt or "
                     r"unsupported; 1 of them not media at all\) in \d+\.\d\ds\n", out.getvalue())
    assert "probing: 2/2 files" in capsys.readouterr().err
