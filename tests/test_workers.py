"""`mediasrv serve --workers N`: a leader and followers on one port."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediasrv.cli.workers import listen_shared

from .support import (
    SMALL_TREE,
    LiveServer,
    leader_args,
    make_tree,
    one_error_line,
    run,
    serves,
    until,
)
from .support.live import roles_answering

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", SMALL_TREE)


@pytest.fixture
def group(lib: Path, tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(*leader_args(lib, tmp_path / "cache", "--workers", "2"))
    try:
        yield server
    finally:
        server.stop()


def follower_of(server: LiveServer) -> dict[str, Any]:
    """The leader's record of its follower, asked until the leader answers."""
    for _ in range(500):
        try:
            status = server.status()
        except OSError:  # a connection the kernel gave to a follower that was just killed
            continue
        if status["role"] == "leader":
            (child,) = status["workers"]["followers"]
            return dict(child)
    raise AssertionError("the leader never answered")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_leader_and_follower_share_the_port(group: LiveServer, lib: Path) -> None:
    assert "(2 workers)" in group.log_text()
    until(lambda: serves(group, 1) and roles_answering(group, {"leader", "follower"}, 1),
          "both workers answering on generation 1")
    assert follower_of(group)["restarts"] == 0
    # Rescans through the shared port work whichever process the kernel hands them
    # to (a follower passes them on to the leader), and reach the follower too.
    n = 0
    while n < 3 or "passing a rescan on to the leader" not in group.log_text():
        n += 1
        assert n < 60, "no rescan ever reached the follower"
        make_tree(lib, {f"added/{n}.jpg": "x"})
        code, body = group.post("/api/rescan?wait=1")
        assert (code, body["status"], body["generation"]) == (200, "published", n + 1), body
    until(lambda: roles_answering(group, {"leader", "follower"}, n + 1), "both on the last one")


def test_a_dead_follower_is_started_again(group: LiveServer) -> None:
    until(lambda: serves(group, 1), "generation 1")
    first = until(lambda: follower_of(group)["pid"], "the follower's pid")
    os.kill(first, signal.SIGKILL)
    restarted = until(lambda: (f := follower_of(group))["restarts"] == 1 and f["pid"], "restart")
    assert restarted != first
    assert follower_of(group)["last_exit"] == -signal.SIGKILL
    until(lambda: roles_answering(group, {"leader", "follower"}, 1), "both answering again")


def test_ctrl_c_stops_every_worker(group: LiveServer) -> None:
    until(lambda: serves(group, 1), "generation 1")
    child = until(lambda: follower_of(group)["pid"], "the follower's pid")
    assert group.stop(signal.SIGINT) == 0  # to the process group, as a terminal sends it
    assert not alive(child)
    assert "mediasrv: shutting down" in group.log_text()


def test_a_follower_group_is_all_followers(lib: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("scan", str(lib), "--cache-dir", str(cache)).returncode == 0
    server = LiveServer(lib, "--follow", "--workers", "2", "--cache-dir", cache, "--port", "0")
    try:
        until(lambda: roles_answering(server, {"follower"}, 1), "followers on generation 1")
        statuses = [server.status() for _ in range(50)]
        assert {s["role"] for s in statuses} == {"follower"}
        assert {s.get("workers", {}).get("count") for s in statuses} <= {2, None}
        make_tree(lib, {"added/1.jpg": "x"})
        assert run("scan", str(lib), "--cache-dir", str(cache)).returncode == 0
        until(lambda: all(s["generation"] == 2 for s in [server.status() for _ in range(20)]),
              "every follower on generation 2")
    finally:
        server.stop()


def test_the_port_of_another_group_is_in_use(lib: Path, tmp_path: Path) -> None:
    # Another program's SO_REUSEPORT group must not be joined silently.
    other = listen_shared("127.0.0.1", 0)
    port = other.getsockname()[1]
    try:
        proc = run("serve", str(lib), "--workers", "2", "--port", str(port),
                   "--cache-dir", str(tmp_path / "c"))
    finally:
        other.close()
    assert one_error_line(proc) == f"mediasrv: error: port {port} on 127.0.0.1 is already in use"
    with socket.socket() as plain:
        plain.bind(("127.0.0.1", 0))
        plain.listen()
        port = plain.getsockname()[1]
        proc = run("serve", str(lib), "--workers", "2", "--port", str(port),
                   "--cache-dir", str(tmp_path / "c"))
    assert one_error_line(proc) == f"mediasrv: error: port {port} on 127.0.0.1 is already in use"


def test_workers_must_be_positive(lib: Path) -> None:
    assert one_error_line(run("serve", str(lib), "--workers", "0")) == (
        "mediasrv: error: --workers must be at least 1")
