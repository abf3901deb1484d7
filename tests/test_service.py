"""Running under systemd: the unit file, and the readiness messages on $NOTIFY_SOCKET."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediasrv.cli.notify import notify

from .conftest import SMALL_TREE, make_tree
from .servers import Served, leader_args, serves, until

UNIT = Path(__file__).parent.parent / "scripts" / "systemd" / "mediasrv.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify also checks that ExecStart's program exists: point it at this machine's.
    program = shutil.which("mediasrv") or sys.executable
    text = UNIT.read_text().replace("/usr/local/bin/mediasrv", program)
    assert text != UNIT.read_text()
    unit = tmp_path / "mediasrv.service"
    unit.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, "")


def test_the_unit_is_hardened_and_restarts_on_failure() -> None:
    lines = {line.strip() for line in UNIT.read_text().splitlines()}
    assert {"Type=notify", "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ProtectHome=read-only", "PrivateTmp=yes", "CacheDirectory=mediasrv",
            "Environment=XDG_CACHE_HOME=%C"} <= lines


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket of our own standing in for systemd's, and its NOTIFY_SOCKET value."""
    name = f"mediasrv-test-{os.getpid()}-{secrets.token_hex(4)}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(30)
    yield sock, "@" + name
    sock.close()


def test_notify_sends_one_datagram_to_the_socket(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    assert notify("READY=1", "STATUS=serving") is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving"


def test_notify_reaches_a_socket_by_path(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"ms-{secrets.token_hex(4)}"
    folder.mkdir()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(folder / "notify"))
            monkeypatch.setenv("NOTIFY_SOCKET", str(folder / "notify"))
            assert notify("STOPPING=1") is True
            assert sock.recv(4096) == b"STOPPING=1"
    finally:
        shutil.rmtree(folder)


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "@mediasrv-test-nobody-listens-here")
    assert notify("READY=1") is False  # systemd gone: said in the log, serving goes on


@pytest.mark.timeout(120)
def test_serve_says_ready_once_listening_and_stopping_on_sigterm(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    lib = make_tree(tmp_path / "lib", SMALL_TREE)
    server = Served(*leader_args(lib, tmp_path / "cache"))
    try:
        ready = sock.recv(4096).decode()
        port = server.url.rstrip("/").rsplit(":", 1)[1]
        assert ready == f"READY=1\nSTATUS=serving {lib} on port {port}"
        until(lambda: serves(server, 1), "generation 1")
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=shutting down"
