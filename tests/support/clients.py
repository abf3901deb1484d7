"""Asking an in-process test client (aiohttp's ``TestClient``) the usual questions."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient

from mediasrv.server.keys import LIBRARY

from .waiting import until


async def rescan(client: TestClient) -> dict[str, Any]:
    """POST /api/rescan?wait=1 and return its JSON."""
    resp = await client.post("/api/rescan?wait=1")
    assert resp.status == 200, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def status(client: TestClient) -> dict[str, Any]:
    """GET /api/status."""
    resp = await client.get("/api/status")
    assert resp.status == 200
    return await resp.json()  # type: ignore[no-any-return]


async def paths(client: TestClient, tag: str = "All") -> set[str]:
    """The paths of a tag's files (at most 1000), empty if the tag does not exist."""
    resp = await client.get("/api/files", params={"tag": tag, "limit": "1000"})
    if resp.status == 404:
        return set()
    body = await resp.json()
    return {f["path"] for f in body["files"]}


async def serving(client: TestClient, generation: int, timeout: float = 10.0) -> None:
    """Wait (a deadline, not a measurement) until the app serves ``generation``."""
    library = client.app[LIBRARY]
    await until(lambda: library.generation == generation, f"generation {generation}", timeout)


class Links(HTMLParser):
    """Every href and src of a page, and the ids it has."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("href", "src", "poster", "action"):
            value = found.get(name)
            if value and not value.startswith("#"):
                self.urls.append(value.partition("#")[0])
        for candidate in (found.get("srcset") or "").split(","):
            if candidate.strip():
                self.urls.append(candidate.split()[0])
        if found.get("id"):
            self.ids[str(found["id"])] = {"tag": tag, **found}


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


async def page(client: TestClient, url: str, status: int = 200) -> str:
    """The HTML of ``url``, which must answer ``status``."""
    resp = await client.get(url, allow_redirects=False)
    assert resp.status == status, await resp.text()
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    return await resp.text()
