"""Swaps under load: rescans back to back while hundreds of requests run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from .support import make_tree, rescan
from .support.swaps import BASE, base_tree, check

RESCANS = 6


async def worker(client: TestClient, n: int, stop: asyncio.Event, seen: list[int]) -> int:
    """Sequential requests of one client: every answer consistent, generations never go back."""
    last, done, i = 0, 0, 0
    while not stop.is_set() or done < 30:
        i += 1
        choice = (n + i) % 3
        if choice == 0:
            kind, arg, url = "tags", 0, "/api/tags"
        elif choice == 1:
            offset = (n * 7 + i * 3) % (BASE + 5)
            kind, arg, url = "page", offset, f"/api/files?offset={offset}&limit=10"
        else:
            g_now = max(last, 2)
            k = 1 + (n + i) % (g_now - 1)
            kind, arg, url = "file", k, f"/api/file?path=added/{k}.jpg&tag=added"
        resp = await client.get(url)
        body = await resp.json()
        assert resp.status == 200, body
        g = check(kind, arg, body)
        assert g >= last, f"client {n} saw generation {g} after {last}"
        last = g
        seen.append(g)
        done += 1
    return done


@pytest.mark.slow
async def test_requests_never_fail_or_mix_generations_during_rescans(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root = make_tree(tmp_path / "lib", base_tree())
    client = await started(settings_for(root))
    # generation 1 has no "added" files; make generation 2 before the load starts
    make_tree(root, {"added/1.jpg": "x"})
    assert (await rescan(client))["generation"] == 2

    stop = asyncio.Event()
    seen: list[int] = []
    workers = [asyncio.create_task(worker(client, n, stop, seen)) for n in range(16)]
    generations = []
    for k in range(2, RESCANS + 2):
        make_tree(root, {f"added/{k}.jpg": "x"})
        body = await rescan(client)
        assert (body["status"], body["mode"], body["added"], body["error"]) == (
            "published", "delta", 1, None)
        generations.append(body["generation"])
        # Scans are quick (a warm worker): let requests land on this generation too.
        while seen.count(body["generation"]) < 16:
            await asyncio.sleep(0.005)
    stop.set()
    counts = await asyncio.gather(*workers)

    assert generations == list(range(3, RESCANS + 3))
    assert sum(counts) >= 16 * 30, counts
    assert set(generations) <= set(seen)  # requests really did straddle every swap
    # every retired generation is gone; only the current one is on disk
    from mediasrv.server.keys import CACHE, LIBRARY

    await client.app[LIBRARY].settled()
    assert sorted(p.name for p in client.app[CACHE].path.glob("gen-*")) == [
        f"gen-{RESCANS + 2:06d}.db"
    ]
