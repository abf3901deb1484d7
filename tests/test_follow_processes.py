"""A leader and two followers, each a `mediasrv serve` process, on one small library."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mediasrv.children import child_env
from mediasrv.index.cachedir import CacheDir

from .support import LiveServer, leader_args, make_tree, many_files, run, serves, until
from .support.swaps import base_tree, check

pytestmark = [pytest.mark.process, pytest.mark.timeout(180)]


class Cluster:
    def __init__(self, tmp_path: Path) -> None:
        self.root = make_tree(tmp_path / "lib", base_tree())
        self.cache = tmp_path / "cache"
        self.leader = self.start_leader()
        until(lambda: serves(self.leader, 1), "the leader's first generation")
        self.followers = [
            LiveServer(self.root, "--follow", "--cache-dir", self.cache, "--port", "0")
            for _ in range(2)
        ]
        for follower in self.followers:
            until(lambda f=follower: serves(f, 1), "a follower on generation 1")

    def start_leader(self) -> LiveServer:
        self.leader = LiveServer(*leader_args(self.root, self.cache))
        return self.leader

    def rescan(self, added: str) -> int:
        make_tree(self.root, {added: "x"})
        code, body = self.leader.post("/api/rescan?wait=1")
        assert (code, body["status"], body["error"]) == (200, "published", None), body
        return int(body["generation"])

    def stop(self) -> None:
        for server in [self.leader, *self.followers]:
            server.stop()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    found = Cluster(tmp_path)
    try:
        yield found
    finally:
        found.stop()


def test_a_rescan_on_the_leader_reaches_both_followers(cluster: Cluster) -> None:
    assert cluster.rescan("added/1.jpg") == 2
    for follower in cluster.followers:
        until(lambda f=follower: serves(f, 2), "the follower on generation 2")
        code, body = follower.get("/api/files?tag=added")
        assert (code, body["generation"], body["total"]) == (200, 2, 1)
        status = follower.status()
        assert (status["role"], status["follower"]["cache_generation"]) == ("follower", 2)
        assert status["follower"]["last_swap"]["generation"] == 2
    assert cluster.leader.status()["role"] == "leader"
    code, body = cluster.followers[0].post("/api/rescan")
    assert (code, body["error"]["code"]) == (409, "follower")


async def test_300_concurrent_requests_over_followers_during_rescans(cluster: Cluster) -> None:
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, cluster.rescan, "added/1.jpg") == 2
    for follower in cluster.followers:
        await loop.run_in_executor(None, until, lambda f=follower: serves(f, 2), "generation 2")

    stop = asyncio.Event()
    answers: list[int] = []

    async def client(session: aiohttp.ClientSession, n: int) -> None:
        """Sequential requests of one client of one follower: all fine, never going back."""
        last, i = 0, 0
        while not stop.is_set() or i < 3:
            i += 1
            if (n + i) % 3 == 0:
                kind, arg, url = "tags", 0, "/api/tags"
            elif (n + i) % 3 == 1:
                offset = (n * 7 + i * 3) % 65
                kind, arg, url = "page", offset, f"/api/files?offset={offset}&limit=10"
            else:
                k = 1 + (n + i) % (max(last, 2) - 1)
                kind, arg, url = "file", k, f"/api/file?path=added/{k}.jpg&tag=added"
            async with session.get(url) as resp:
                body: dict[str, Any] = await resp.json()
                assert resp.status == 200, body
            generation = check(kind, arg, body)
            assert generation >= last, f"client {n} saw generation {generation} after {last}"
            last = generation
            answers.append(generation)

    sessions = [aiohttp.ClientSession(f.url, connector=aiohttp.TCPConnector(limit=0))
                for f in cluster.followers]
    try:
        clients = [asyncio.create_task(client(sessions[n % 2], n)) for n in range(300)]
        generations = []
        for k in range(2, 8):  # back to back, each with a new file, so each publishes
            generations.append(await loop.run_in_executor(None, cluster.rescan, f"added/{k}.jpg"))
        for follower in cluster.followers:
            await loop.run_in_executor(None, until, lambda f=follower: serves(f, 8), "gen 8")
        await asyncio.sleep(0.2)  # a few answers from the last generation, too
        stop.set()
        await asyncio.gather(*clients)
    finally:
        for session in sessions:
            await session.close()
    assert generations == list(range(3, 9))
    assert len(answers) >= 900
    assert len(set(answers)) >= 3  # the requests really did straddle several swaps
    assert max(answers) == 8


def test_killing_the_leader_mid_scan_leaves_the_followers_serving(cluster: Cluster) -> None:
    many_files(cluster.root / "big", 10_000)  # a full build that takes a while
    code, _ = cluster.leader.post("/api/rescan")
    assert code == 202
    until(lambda: list(cluster.cache.glob("*.tmp")), "the leader's scan writing its build")
    assert cluster.leader.stop(signal.SIGKILL) == -signal.SIGKILL  # the leader and its scan
    for follower in cluster.followers:
        for _ in range(20):
            code, body = follower.get("/api/files?limit=5")
            assert (code, body["generation"], body["total"]) == (200, 1, 60)
        assert follower.status()["follower"]["error"] is None
    # the leader comes back: it clears the dead scan's build and publishes the change
    cluster.start_leader()
    until(lambda: serves(cluster.leader, 2), "the restarted leader's generation 2", 120)
    for follower in cluster.followers:
        until(lambda f=follower: serves(f, 2), "the follower catching up", 30)
        assert follower.get("/api/files?limit=5")[1]["total"] == 10_060
    assert not list(cluster.cache.glob("*.tmp"))


def test_a_follower_started_first_serves_the_first_generation(tmp_path: Path) -> None:
    root, cache = make_tree(tmp_path / "lib", base_tree()), tmp_path / "cache"
    follower = LiveServer(root, "--follow", "--cache-dir", cache, "--port", "0")
    try:
        code, body = follower.get("/api/files")
        assert (code, body["error"]["code"]) == (503, "index_not_ready")
        scan = run("scan", str(root), "--cache-dir", str(cache))  # a leader from cron
        assert scan.returncode == 0, scan.stderr
        until(lambda: serves(follower, 1), "the follower on generation 1")
        code, body = follower.get("/api/files?limit=1")
        assert (code, body["total"]) == (200, 60)
        os.close(CacheDir(cache).hold_lock("serve"))  # the follower holds no lock
    finally:
        follower.stop()


def test_the_scan_process_yields_to_every_server() -> None:
    probe = ("import os; from mediasrv.scan.job import lower_priority; lower_priority(); "
             "print(os.sched_getscheduler(0) == os.SCHED_IDLE, os.nice(0)); "
             "os.execvp('ionice', ['ionice', '-p', str(os.getpid())])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=child_env(), check=True)
    assert done.stdout.split() == ["True", "19", "idle"]  # and the idle I/O class
