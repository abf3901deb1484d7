"""Child processes: one line limit at both ends, exit reasons in words, stop-then-kill, backoff."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from mediasrv.children import (
    LINE_LIMIT,
    LineTooLong,
    backoff,
    command,
    emit,
    exit_reason,
    json_line,
)
from mediasrv.children.parent import PIPE, json_lines, spawn, stop

# A child that writes one message whose line is N bytes long (newline excluded),
# past emit's check, then waits for stdin to end.
WRITE_ONE_LINE = """
import json, sys
n = int(sys.argv[1])
print(json.dumps({"type": "x", "pad": "a" * (n - len('{"type": "x", "pad": ""}'))}), flush=True)
sys.stdin.read()
"""

# A child that will not stop when asked: stdin's end and SIGTERM mean nothing to it.
STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print('{"type": "ready"}', flush=True)
sys.stdin.read()
while True:
    time.sleep(1)
"""


def test_emit_writes_one_json_line_and_flushes() -> None:
    out = io.StringIO()
    emit(out, {"type": "ready", "id": None})
    assert out.getvalue() == '{"type": "ready", "id": null}\n'


def test_a_message_longer_than_the_limit_is_refused_by_its_writer() -> None:
    fits = {"type": "x", "pad": "a" * (LINE_LIMIT - len('{"type": "x", "pad": ""}'))}
    assert len(json_line(fits)) == LINE_LIMIT + 1
    with pytest.raises(LineTooLong, match="a x message of 1,048,577 bytes"):
        json_line({**fits, "pad": fits["pad"] + "a"})


async def _read_one(length: int) -> list[dict[str, object]]:
    proc = await spawn([sys.executable, "-c", WRITE_ONE_LINE, str(length)], stdout=PIPE)
    assert proc.stdout is not None
    messages = []
    try:
        async for message in json_lines(proc.stdout, "test child"):
            messages.append(message)
            assert proc.stdin is not None
            proc.stdin.close()  # told: the child exits, its stdout ends
    finally:
        await stop(proc, 30)
    return messages


async def test_the_reader_takes_a_line_of_exactly_the_limit() -> None:
    messages = await _read_one(LINE_LIMIT)
    assert [len(str(m["pad"])) for m in messages] == [LINE_LIMIT - 24]


async def test_the_reader_refuses_a_line_over_the_limit() -> None:
    with pytest.raises(ValueError):
        await _read_one(LINE_LIMIT + 1)


async def test_stop_closes_stdin_and_a_willing_child_exits_by_itself() -> None:
    proc = await spawn([sys.executable, "-c", "import sys; sys.stdin.read()"])
    assert await stop(proc, 60) == 0


async def test_stop_sends_the_signal_it_is_given() -> None:
    proc = await spawn([sys.executable, "-c", "import time; time.sleep(60)"])
    assert await stop(proc, 60, signal.SIGTERM) == -signal.SIGTERM


async def test_stop_kills_a_child_that_does_not_exit_in_time() -> None:
    proc = await spawn([sys.executable, "-c", STUBBORN], stdout=PIPE)
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b'{"type": "ready"}\n'  # SIGTERM is ignored now
    assert await stop(proc, 0.1, signal.SIGTERM) == -signal.SIGKILL


@pytest.mark.parametrize(("code", "words"), [
    (3, "scan process exited with status 3"),
    (0, "scan process exited with status 0"),
    (-9, "scan process killed by signal SIGKILL"),
    (-15, "scan process killed by signal SIGTERM"),
    (-200, "scan process killed by signal 200"),
])
def test_exit_reasons_in_words(code: int, words: str) -> None:
    assert exit_reason("scan process", code) == words


def test_the_backoff_doubles_up_to_its_ceiling() -> None:
    assert [backoff(0.5, n, 30.0) for n in range(0, 9)] == [
        0.5, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff(1.0, 5) == 16.0


def test_a_child_is_this_interpreter_running_a_mediasrv_module() -> None:
    assert command("scan.process", "/root", "/cache") == [
        sys.executable, "-m", "mediasrv.scan.process", "/root", "/cache"]


def test_a_scan_result_too_long_for_a_line_drops_its_moves_not_the_scan(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Names that are not UTF-8 grow sixfold as JSON (\\udcXX): 1,100 moved files with
    200-byte names fit moves.MAX_CHARS but not a line; the generation is still announced."""
    from mediasrv.scan.process import ScanService

    root = tmp_path / "lib"
    (root / "a").mkdir(parents=True)
    for n in range(1100):
        path = os.path.join(os.fsencode(root / "a"), b"\xff" * 200 + b"%d.jpg" % n)
        with open(path, "wb"):
            pass
        os.utime(path, ns=(n, n))  # a (size, mtime) of its own: the move is certain
    out = io.StringIO()
    service = ScanService(root, tmp_path / "cache", out)
    service.handle(b'{"id": 1, "paths": null}\n')
    os.rename(root / "a", root / "b")
    service.handle(b'{"id": 2, "paths": null}\n')
    lines = out.getvalue().splitlines()
    assert all(len(line) <= LINE_LIMIT for line in lines)
    results = [json.loads(line) for line in lines if '"type": "result"' in line]
    assert [(r["id"], r["status"], r["generation"], r["removed"], r["added"], r["moves"])
            for r in results] == [(1, "published", 1, 0, 1100, []),
                                  (2, "published", 2, 1100, 1100, [])]
    assert "612 moved files are too many to report" in caplog.text  # moves.MAX_CHARS
