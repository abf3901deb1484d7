"""The watch process and its notifier: which paths a change names, names that are
not UTF-8, the JSON line protocol, and a clean exit however it ends."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inotify_simple import Event, flags

from mediasrv.children import child_env
from mediasrv.watch.inotify import TreeWatch
from mediasrv.watch.process import ChangeFilter, changes_message

from .support import WAIT, make_tree, until

pytestmark = pytest.mark.process


def odd(raw: bytes) -> str:
    """A name that is not UTF-8, as the watcher reports it (``os.fsdecode``)."""
    return os.fsdecode(raw)


class WatchProcess:
    """``python -m mediasrv.watch`` on ``root``, read line by line with a deadline."""

    def __init__(self, root: Path, *options: str, ignore: tuple[Path, ...] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasrv.watch", *options, "--", str(root), *map(str, ignore)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=child_env(),
        )
        self.lines: list[bytes] = []
        self._buffer = b""

    def message(self) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        assert self.proc.stdout is not None
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no message from the watch process; it had {self._buffer!r}")
            readable, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if readable:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise AssertionError(f"the watch process ended: {self.stderr()!r}")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        self.lines.append(line)
        return json.loads(line)

    def ready(self) -> dict[str, Any]:
        message = self.message()
        assert message["type"] == "ready", message
        return message

    def changed(self, expected: set[str]) -> set[str]:
        """The paths of the batches that arrive until all of ``expected`` was named."""
        seen: set[str] = set()
        while not expected <= seen:
            message = self.message()
            assert message["type"] == "changes" and message["why"] is None, message
            assert message["paths"] == sorted(set(message["paths"]))
            seen |= set(message["paths"])
        return seen

    def stderr(self) -> bytes:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else b""

    def close(self) -> tuple[int, bytes]:
        """Close its stdin, as the server does; (exit status, stderr)."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(WAIT)
        return code, self.stderr()


@pytest.fixture
def watch_process() -> Iterator[Callable[..., WatchProcess]]:
    started: list[WatchProcess] = []

    def start(root: Path, *options: str, ignore: tuple[Path, ...] = ()) -> WatchProcess:
        started.append(WatchProcess(root, *options, ignore=ignore))
        return started[-1]

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
        process.proc.wait()
        for stream in (process.proc.stdin, process.proc.stdout, process.proc.stderr):
            if stream is not None:
                stream.close()


ODD_TREE: dict[str | bytes, bytes | str] = {
    "a.jpg": b"a", "Sub/b.jpg": b"b", b"bad\xffname.jpg": b"odd", b"caf\xe9/\xff.jpg": b"odd",
}


def test_every_change_names_its_paths_exactly_and_reads_name_none(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    root = make_tree(tmp_path / "lib", ODD_TREE)
    broot = os.fsencode(root)

    def at(rel: bytes) -> bytes:
        return os.path.join(broot, rel)

    def append(rel: bytes) -> None:
        with open(at(rel), "ab") as f:
            f.write(b"more")

    process = watch_process(root)
    assert process.ready() == {"type": "ready", "backend": "inotify", "folders": 3}
    for rel in (b"bad\xffname.jpg", b"caf\xe9/\xff.jpg"):  # what used to end the watch
        with open(at(rel), "rb") as f:
            f.read()
    steps: list[tuple[Callable[[], object], set[str]]] = [
        (lambda: make_tree(root, {b"caf\xe9/n\xe9w.jpg": b"n"}), {odd(b"caf\xe9/n\xe9w.jpg")}),
        (lambda: append(b"bad\xffname.jpg"), {odd(b"bad\xffname.jpg")}),
        (lambda: os.utime(at(b"a.jpg"), (1, 1)), {"a.jpg"}),
        (lambda: os.rename(at(b"a.jpg"), at(b"\xe0.jpg")), {"a.jpg", odd(b"\xe0.jpg")}),
        (lambda: os.unlink(at(b"\xe0.jpg")), {odd(b"\xe0.jpg")}),
        (lambda: make_tree(root, {b"d\xe9/e/f.jpg": b"f"}),
         {odd(b"d\xe9"), odd(b"d\xe9/e"), odd(b"d\xe9/e/f.jpg")}),
        (lambda: os.rename(at(b"d\xe9"), at(b"Sub/moved")), {odd(b"d\xe9"), "Sub/moved"}),
        (lambda: make_tree(root, {"Sub/moved/e/g.jpg": b"g"}), {"Sub/moved/e/g.jpg"}),
        (lambda: shutil.rmtree(at(b"caf\xe9")),
         {odd(b"caf\xe9"), odd(b"caf\xe9/\xff.jpg"), odd(b"caf\xe9/n\xe9w.jpg")}),
        (lambda: os.mkdir(at(b"caf\xe9")), {odd(b"caf\xe9")}),
        (lambda: make_tree(root, {b"caf\xe9/again.jpg": b"a"}), {odd(b"caf\xe9/again.jpg")}),
    ]
    for change, expected in steps:
        change()
        assert process.changed(expected) == expected
    # JSON carries the escaped bytes as \udcXX escapes, in pure ASCII, and reads back exact.
    assert all(line.isascii() for line in process.lines)
    assert b'"caf\\udce9/again.jpg"' in process.lines[-1]
    assert process.close() == (0, b"")


def test_hidden_entries_and_ignored_folders_are_not_named(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    root = make_tree(tmp_path / "lib", {"a.jpg": b"a", "cache/gen.db": b"g", ".git/x": b"x"})
    process = watch_process(root, ignore=(root / "cache",))
    assert process.ready()["folders"] == 1  # neither .git nor the cache dir is watched
    make_tree(root, {".hidden.jpg": b"h", "cache/gen2.db": b"g", ".git/y": b"y",
                     "Sub/.partial/x.jpg": b"x"})
    os.rename(root / "a.jpg", root / ".a.jpg")
    make_tree(root, {"seen.jpg": b"s"})
    assert process.changed({"seen.jpg"}) == {"a.jpg", "Sub", "seen.jpg"}


def test_a_folder_moved_out_is_no_longer_watched_and_one_moved_in_is(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    root = make_tree(tmp_path / "lib", {"In/a.jpg": b"a"})
    outside = make_tree(tmp_path / "outside", {"Out/b.jpg": b"b"})
    process = watch_process(root)
    process.ready()
    os.rename(root / "In", outside / "In")
    assert process.changed({"In"}) == {"In"}
    os.rename(outside / "Out", root / "Out")
    assert process.changed({"Out"}) == {"Out"}
    make_tree(outside, {"In/c.jpg": b"c"})
    make_tree(root, {"Out/d.jpg": b"d"})
    assert process.changed({"Out/d.jpg"}) == {"Out/d.jpg"}


def test_stdin_closed_ends_the_process_cleanly(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    process = watch_process(make_tree(tmp_path / "lib", ODD_TREE))
    process.ready()
    assert process.close() == (0, b"")


def test_a_killed_server_ends_the_process_cleanly(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", ODD_TREE)
    errors = tmp_path / "stderr"
    server = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         "watch = subprocess.Popen([sys.executable, '-m', 'mediasrv.watch', sys.argv[1]],\n"
         "                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,\n"
         "                         stderr=open(sys.argv[2], 'wb'))\n"
         "print(watch.pid, watch.stdout.readline().decode(), sep='\\n', flush=True)\n"
         "time.sleep(60)\n",
         str(root), str(errors)],
        stdout=subprocess.PIPE, env=child_env(),
    )
    assert server.stdout is not None
    pid = int(server.stdout.readline())
    assert json.loads(server.stdout.readline())["type"] == "ready"
    server.send_signal(signal.SIGKILL)
    server.wait()
    server.stdout.close()
    deadline = time.monotonic() + WAIT
    while Path(f"/proc/{pid}").exists() and "(zombie)" not in Path(f"/proc/{pid}/status").read_text(
            errors="replace").lower():
        assert time.monotonic() < deadline, "the watch process outlived the server"
        time.sleep(0.02)
    assert errors.read_bytes() == b""


def test_a_removed_root_ends_the_process_with_an_error(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    root = make_tree(tmp_path / "lib", ODD_TREE)
    process = watch_process(root)
    process.ready()
    shutil.rmtree(root)
    message = process.message()
    while message["type"] == "changes":  # the deletions inside it come first
        message = process.message()
    assert message == {"type": "error", "message": (
        f"RootGone: [Errno 2] the root folder was removed or moved: '{root}'")}
    assert process.proc.wait(WAIT) == 1
    assert process.stderr() == b""


def test_watchfiles_ends_on_a_read_of_an_odd_name_without_a_fatal_error(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    """The issue's reproduction: why Linux uses TreeWatch, and the exit that used to abort."""
    root = make_tree(tmp_path / "lib", {"a.jpg": b"a", b"bad\xffname.jpg": b"odd"})
    process = watch_process(root, "--backend", "watchfiles")
    assert process.ready() == {"type": "ready", "backend": "watchfiles"}
    with open(os.path.join(os.fsencode(root), b"bad\xffname.jpg"), "rb") as f:
        f.read()
    message = process.message()
    assert message["type"] == "error"
    assert message["message"].startswith("Unable to decode path")
    assert process.proc.wait(WAIT) == 1
    assert process.stderr() == b""  # no "Fatal Python error: _enter_buffered_busy"


def test_watchfiles_cannot_even_start_on_an_odd_folder(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    """Why restarting watchfiles could not be the answer: it never gets ready."""
    root = make_tree(tmp_path / "lib", {b"caf\xe9/a.jpg": b"a"})
    process = watch_process(root, "--backend", "watchfiles")
    message = process.message()
    assert message["type"] == "error"
    assert message["message"].startswith("Unable to decode path")
    assert process.proc.wait(WAIT) == 1
    assert process.stderr() == b""


def test_watchfiles_names_relative_paths(
    tmp_path: Path, watch_process: Callable[..., WatchProcess]
) -> None:
    root = make_tree(tmp_path / "lib", {"Sub/a.jpg": b"a"})
    process = watch_process(root, "--polling")
    assert process.ready() == {"type": "ready", "backend": "polling"}
    make_tree(root, {"Sub/new.jpg": b"n"})
    assert process.changed({"Sub/new.jpg"}) <= {"Sub", "Sub/new.jpg"}
    assert process.close() == (0, b"")


# -- pieces -------------------------------------------------------------------


def test_a_queue_overflow_names_nothing_and_watches_the_tree_anew(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"a.jpg": b"a", "Old/b.jpg": b"b"})
    tree = TreeWatch(str(root))
    tree.start()
    try:
        assert tree.folders == 2
        shutil.rmtree(root / "Old")
        make_tree(root, {"New/Deeper/c.jpg": b"c"})
        # As if the kernel had dropped those events: only the overflow marker is read.
        assert tree.handle([Event(-1, flags.Q_OVERFLOW, 0, "")]) is None
        assert tree.folders == 3  # the root, New and New/Deeper
        tree.read()  # the real events, now stale; none may name Old's dropped watch
        make_tree(root, {"New/Deeper/d.jpg": b"d"})
        deadline = time.monotonic() + WAIT
        found: set[str] = set()
        while "New/Deeper/d.jpg" not in found:
            assert time.monotonic() < deadline
            select.select([tree], [], [], WAIT)
            found |= tree.read() or set()
    finally:
        tree.close()


def test_a_batch_names_each_path_once_in_order() -> None:
    assert changes_message({"b", "a/c", "a"}) == {
        "type": "changes", "paths": ["a", "a/c", "b"], "why": None,
    }


def test_too_many_paths_make_an_unknown_batch() -> None:
    assert changes_message({"a", "b", "c"}, max_paths=2) == {
        "type": "changes", "paths": None, "why": "more than 2 paths changed",
    }
    long_names = {f"{i:06}" + "x" * 200 for i in range(6000)}
    assert changes_message(long_names)["why"] == "the changed paths exceed 1,048,576 bytes"


def test_an_overflow_batch_says_why() -> None:
    assert changes_message(None, unknown="the kernel's event queue overflowed") == {
        "type": "changes", "paths": None, "why": "the kernel's event queue overflowed",
    }


@pytest.mark.parametrize(("path", "kept"), [
    ("/lib/a.jpg", True),
    ("/lib/Trips/2024/b.jpg", True),
    ("/lib/Trips", True),
    ("/lib/.hidden.jpg", False),
    ("/lib/.git/objects/ab", False),
    ("/lib/Trips/.thumbs/c.jpg", False),
    ("/lib/cache/gen-000002.db", False),
    ("/lib/cache", False),
    ("/lib/cachet/d.jpg", True),
])
def test_the_watchfiles_filter_drops_hidden_entries_and_the_cache_dir(
    path: str, kept: bool
) -> None:
    keep = ChangeFilter("/lib", ["/lib/cache"])
    assert keep(None, path) is kept


def test_what_a_new_folder_held_before_its_watch_is_named_too(tmp_path: Path) -> None:
    """``mkdir -p`` and a file written at once outrun the watcher: the new folder's
    contents, made before its watch was added, send no event of their own, so adding
    the watch names them (a busy machine lost them: the change was never reported)."""
    root = make_tree(tmp_path / "lib", {"a.jpg": b"a"})
    tree = TreeWatch(str(root))
    tree.start()
    try:
        # Nothing is read until all of it exists: the watcher is as late as it can be.
        make_tree(root, {"New/Deeper/c.jpg": b"c", "New/d.jpg": b"d", "New/.hidden": b"h"})
        os.rename(make_tree(tmp_path / "out", {"Moved/e.jpg": b"e"}) / "Moved", root / "In")
        # A folder moved in is named as one, as always (its files were there before).
        assert tree.read() == {"New", "New/Deeper", "New/Deeper/c.jpg", "New/d.jpg", "In"}
        assert tree.folders == 4  # the root, New, New/Deeper, In
        make_tree(root, {"New/Deeper/f.jpg": b"f"})
        found = until(tree.read, "the new folder's watch to name a file written into it")
        assert found == {"New/Deeper/f.jpg"}
    finally:
        tree.close()
