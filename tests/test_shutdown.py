"""SIGTERM stops `mediasrv serve` within --shutdown-grace, whatever its clients are doing.

A stalled reader (a paused video: 64 KB of a big file read, then nothing), an
open event stream and a scan in progress must not hold the process; it exits
0 within the grace period plus a second, with no traceback in its log and no
build left behind in the cache dir. The same for a follower and for each
process of a --workers group.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import make_tree
from .servers import Served, leader_args, serves, until
from .test_workers import roles_answering

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

GRACE = 2.0
BIG = "Music/big.wav"


def write_wav(path: Path, seconds: int) -> None:
    """A real WAV file of silence: 44.1 kHz, 16-bit stereo (about 176 KB a second)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(44_100)
        out.writeframes(b"\0" * (44_100 * 4 * seconds))


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "lib", {"Trips/a.txt": "a", "Trips/b.txt": "b"})
    write_wav(root / BIG, 290)  # 51 MB
    return root


class Conn:
    """One keep-alive HTTP/1.1 connection, read by hand so that it can stop reading."""

    def __init__(self, url: str) -> None:
        host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()  # type: ignore[union-attr]
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        # A small receive buffer: the server soon finds the client not reading.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65_536)
        self.buf = b""

    def send(self, path: str, accept: str = "*/*") -> None:
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                          f"Accept: {accept}\r\n\r\n".encode())

    def head(self) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self.buf:
            self._more()
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        first, *lines = raw.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        return int(first.split()[1]), headers

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _more(self) -> None:
        chunk = self.sock.recv(65_536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def role(self) -> str:
        """GET /api/status on this connection: which process of a group it reached."""
        self.send("/api/status")
        status, headers = self.head()
        assert status == 200
        return str(json.loads(self.read(int(headers["content-length"])))["role"])

    def stall_on(self, path: str) -> None:
        """Start downloading ``path``, read the first 64 KB, then stop reading."""
        self.send(path)
        status, headers = self.head()
        assert (status, int(headers["content-length"]) > 20_000_000) == (200, True)
        self.read(65_536)

    def listen_to_events(self) -> None:
        self.send("/api/events", accept="text/event-stream")
        status, headers = self.head()
        assert (status, headers["content-type"].split(";")[0]) == (200, "text/event-stream")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def conns() -> Iterator[list[Conn]]:
    opened: list[Conn] = []
    yield opened
    for conn in opened:
        conn.close()


def children_of(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(p) for p in f.read().split()]
    return found


def scan_process(server_pid: int) -> int | None:
    for pid in children_of(server_pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"mediasrv.scan.process" in f.read():
                    return pid
        except FileNotFoundError:
            continue
    return None


def scan_in_progress(server: Served, lib: Path) -> None:
    """A rescan that stays in progress: its process is stopped (SIGSTOP) before it starts."""
    worker = until(lambda: scan_process(server.pid), "the scan worker")
    os.kill(worker, signal.SIGSTOP)
    (lib / "Trips" / "c.txt").write_text("c")
    assert server.post("/api/rescan")[0] == 202
    until(lambda: server.status()["scanning"], "the rescan to start")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def stopped_in_time(server: Served, cache: Path) -> None:
    """SIGTERM: exit 0 within the grace period plus a second, cleanly, its helpers gone too."""
    helpers = children_of(server.pid)
    started = time.monotonic()
    code = server.stop(signal.SIGTERM)
    took = time.monotonic() - started
    log = "".join(server.log)
    assert (code, took < GRACE + 1.0) == (0, True), f"exit {code} after {took:.2f}s:\n{log}"
    assert "Traceback" not in log, log
    assert sorted(p.name for p in cache.glob("*.tmp")) == []
    # The scan and watch processes (groups of their own: the signal did not reach them).
    until(lambda: not any(alive(pid) for pid in helpers), "the helper processes to be gone", 5)


def test_a_stalled_reader_an_event_stream_and_a_scan_do_not_hold_the_server(
    lib: Path, tmp_path: Path, conns: list[Conn]
) -> None:
    cache = tmp_path / "cache"
    server = Served(lib, "--cache-dir", cache, "--port", "0", "--rescan-interval", "0",
                    "--shutdown-grace", str(GRACE))  # watching, as by default
    until(lambda: serves(server, 1) and server.status()["watcher"]["state"] == "watching",
          "generation 1, watched")
    assert len(children_of(server.pid)) == 2  # the scan and the watch process
    conns += [Conn(server.url), Conn(server.url)]
    conns[0].stall_on(f"/media/{BIG}")
    conns[1].listen_to_events()
    scan_in_progress(server, lib)
    stopped_in_time(server, cache)


def test_a_follower_stops_in_time(lib: Path, tmp_path: Path, conns: list[Conn]) -> None:
    cache = tmp_path / "cache"
    leader = Served(*leader_args(lib, cache))
    try:
        until(lambda: serves(leader, 1), "generation 1 on the leader")
        follower = Served(lib, "--cache-dir", cache, "--port", "0", "--follow",
                          "--shutdown-grace", str(GRACE))
        until(lambda: serves(follower, 1), "generation 1 on the follower")
        conns += [Conn(follower.url), Conn(follower.url)]
        conns[0].stall_on(f"/media/{BIG}")
        conns[1].listen_to_events()
        stopped_in_time(follower, cache)
    finally:
        leader.stop()


def test_each_process_of_a_group_stops_in_time(
    lib: Path, tmp_path: Path, conns: list[Conn]
) -> None:
    cache = tmp_path / "cache"
    group = Served(*leader_args(lib, cache, "--workers", "2", "--shutdown-grace", str(GRACE)))
    until(lambda: serves(group, 1) and roles_answering(group, {"leader", "follower"}, 1),
          "both processes answering on generation 1")
    # A stalled download and an event stream on each process: a connection says
    # which process the kernel gave it before it is put to use.
    wanted = {"leader": 2, "follower": 2}
    for _ in range(200):
        if not any(wanted.values()):
            break
        conn = Conn(group.url)
        conns.append(conn)
        role = conn.role()
        if wanted[role] == 2:
            conn.stall_on(f"/media/{BIG}")
        elif wanted[role] == 1:
            conn.listen_to_events()
        wanted[role] = max(0, wanted[role] - 1)
    assert wanted == {"leader": 0, "follower": 0}
    scan_in_progress(group, lib)
    stopped_in_time(group, cache)
