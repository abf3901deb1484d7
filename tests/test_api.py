"""The JSON API on a small library."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_tags_with_counts_all_first(client: TestClient) -> None:
    resp = await client.get("/api/tags")
    assert resp.status == 200
    body = await resp.json()
    assert body["generation"] == 1
    assert body["tags"] == [
        {"name": "All", "count": 7},
        {"name": "2023", "count": 1},
        {"name": "2024", "count": 4},
        {"name": "Beach", "count": 4},
        {"name": "beach", "count": 1},
        {"name": "family", "count": 1},
        {"name": "Lake", "count": 1},
        {"name": "Music", "count": 1},
        {"name": "Trips", "count": 5},
    ]
