"""The access token, when one is set."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient


async def tokened(started, settings_for, library: Path) -> TestClient:  # type: ignore[no-untyped-def]
    return await started(settings_for(library, token="s3cret"))


async def test_no_token_is_401(started, settings_for, library: Path) -> None:  # type: ignore[no-untyped-def]
    client = await tokened(started, settings_for, library)
    for url in ("/api/tags", "/media/notes.txt", "/api/status"):
        resp = await client.get(url)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"
    assert (await client.post("/api/rescan")).status == 401


async def test_wrong_token_is_401(started, settings_for, library: Path) -> None:  # type: ignore[no-untyped-def]
    client = await tokened(started, settings_for, library)
    resp = await client.get("/api/tags", headers={"Authorization": "Bearer nope"})
    assert resp.status == 401


async def test_bearer_token_is_accepted(started, settings_for, library: Path) -> None:  # type: ignore[no-untyped-def]
    client = await tokened(started, settings_for, library)
    resp = await client.get("/api/tags", headers={"Authorization": "Bearer s3cret"})
    assert resp.status == 200
    resp = await client.post("/api/rescan", headers={"Authorization": "Bearer s3cret"})
    assert resp.status == 202


async def test_token_in_the_url_sets_a_cookie_for_the_browser(
    started,
    settings_for,
    library: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = await tokened(started, settings_for, library)
    resp = await client.get("/api/tags?token=s3cret")
    assert resp.status == 200
    cookie = resp.cookies["mediasrv_token"]
    assert (cookie.value, cookie["httponly"], cookie["samesite"]) == ("s3cret", True, "Strict")
    # the client's cookie jar now carries it
    assert (await client.get("/media/notes.txt")).status == 200
