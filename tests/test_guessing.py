"""Guessing the token over HTTP: ten wrong ones a minute, then 429 for that address alone."""

from __future__ import annotations

import asyncio
import http.client
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.attempts import ATTEMPTS, Attempts
from mediasrv.settings import Settings

from .support import SMALL_TREE, LiveServer, leader_args, make_app, make_tree
from .support.clock import Clock
from .support.openapi import check_json

TOKEN = "s3cret-0123456789"
HTML = {"Accept": "text/html"}


def wrong(n: int) -> dict[str, str]:
    return {"Authorization": f"Bearer guess-{n:04d}-guess-guess"}


def right() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def via(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a request passed on by the proxy (the test client's 127.0.0.1)."""
    return {**(headers or {}), "X-Forwarded-For": address}



@pytest.fixture
def serve(aiohttp_client: Callable[..., Any], settings_for: Callable[..., Settings],
          lib_root: Path) -> Callable[..., Any]:
    """``await serve(clock=None, **settings)``: a client of a server with ``--token``."""

    async def start(clock: Clock | None = None, **overrides: Any) -> TestClient:
        settings = settings_for(lib_root, token=TOKEN, **overrides)
        app = make_app(settings, LeaderOptions(startup_scan=False))
        if clock is not None:
            app[ATTEMPTS] = Attempts(settings.trusted_proxies, clock=clock)
        return await aiohttp_client(app)  # type: ignore[no-any-return]

    return start


async def test_a_burst_of_wrong_tokens_is_refused_and_others_still_get_in(serve: Any) -> None:
    client = await serve(trusted_proxies=("127.0.0.1",))
    answers = await asyncio.gather(*(
        client.get("/api/status", headers=via("203.0.113.7", wrong(n))) for n in range(200)))
    assert Counter(resp.status for resp in answers) == {401: 10, 429: 190}
    refused = next(resp for resp in answers if resp.status == 429)
    assert refused.headers["Retry-After"] == "60"
    body = await refused.json()
    assert body["error"]["code"] == "too_many_attempts"
    check_json("/api/status", "GET", 429, body)
    # the right token from another address still works; from this one it waits too
    assert (await client.get("/api/status", headers=via("203.0.113.8", right()))).status == 200
    assert (await client.get("/api/status", headers=via("203.0.113.7", right()))).status == 429


async def test_every_route_that_checks_the_token_refuses_a_waiting_address(serve: Any) -> None:
    client = await serve()
    for n in range(10):
        assert (await client.get("/api/tags", headers=wrong(n))).status == 401
    for url in ("/api/tags", "/media/notes.txt", "/thumb/Trips/2024/Beach/img1.jpg",
                "/api/events", "/signin", "/"):
        resp = await client.get(url, headers=right())
        assert (resp.status, resp.headers["Retry-After"]) == (429, "60"), url
    resp = await client.post("/api/rescan", headers=right())
    assert resp.status == 429
    resp = await client.post("/signin", data={"token": TOKEN}, allow_redirects=False)
    assert resp.status == 429
    page = await client.get("/", headers={**HTML, **right()})
    assert (page.status, page.content_type) == (429, "text/html")
    assert page.headers["Retry-After"] == "60"
    text = await page.text()
    assert "Too many wrong tokens" in text and "try again in 60 seconds" in text


async def test_the_wait_ends_after_a_minute(serve: Any) -> None:
    clock = Clock()
    client = await serve(clock=clock)
    for n in range(11):
        await client.get("/api/status", headers=wrong(n))
    resp = await client.get("/api/status", headers=right())
    assert (resp.status, resp.headers["Retry-After"]) == (429, "60")
    clock.now += 59.2
    resp = await client.get("/api/status", headers=right())
    assert (resp.status, resp.headers["Retry-After"]) == (429, "1")
    clock.now += 0.8
    assert (await client.get("/api/status", headers=right())).status == 200
    assert (await client.get("/api/status", headers=wrong(0))).status == 401


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(serve: Any) -> None:
    client = await serve()  # no --trusted-proxy: the test client's 127.0.0.1 is the client
    for n in range(10):
        resp = await client.get("/api/status", headers=via(f"198.51.100.{n}", wrong(n)))
        assert resp.status == 401
    resp = await client.get("/api/status", headers=via("198.51.100.99", right()))
    assert resp.status == 429


@pytest.mark.parametrize(
    ("given", "how"),
    [
        ({"params": {"token": "guess-guess-guess"}}, "?token="),
        ({"cookies": {"mediasrv_token": "guess-guess-guess"}}, "cookie"),
    ],
)
async def test_every_way_of_giving_a_token_is_counted(serve: Any, given: dict[str, Any],
                                                      how: str) -> None:
    client = await serve()
    statuses = [(await client.get("/api/tags", **given)).status for _ in range(11)]
    assert statuses == [401] * 10 + [429], how


async def test_wrong_tokens_in_the_sign_in_form_are_counted(serve: Any) -> None:
    client = await serve()
    for n in range(10):
        resp = await client.post("/signin", data={"token": f"guess-{n}", "next": "/"})
        assert resp.status == 401
        assert "That is not the access token" in await resp.text()
    resp = await client.post("/signin", data={"token": TOKEN, "next": "/"},
                             allow_redirects=False)
    assert resp.status == 429
    assert "mediasrv_token" not in resp.cookies


async def test_a_request_without_a_token_is_no_guess(serve: Any) -> None:
    client = await serve()
    for _ in range(30):
        assert (await client.get("/api/tags")).status == 401
        assert (await client.post("/signin", data={"token": ""})).status == 401
    assert (await client.get("/api/status", headers=right())).status == 200


async def test_an_old_token_in_the_cookie_is_forgotten_at_once(serve: Any) -> None:
    client = await serve()
    resp = await client.get("/api/tags", cookies={"mediasrv_token": "an-old-token-0000"})
    assert resp.status == 401
    assert re.search(r"mediasrv_token=\"?\"?; .*Max-Age=0", resp.headers["Set-Cookie"])


async def test_without_a_token_nothing_is_counted(aiohttp_client: Any, settings_for: Any,
                                                  lib_root: Path) -> None:
    client = await aiohttp_client(make_app(settings_for(lib_root),
                                           LeaderOptions(startup_scan=False)))
    for n in range(20):
        assert (await client.get("/api/status", headers=wrong(n))).status == 200
    assert len(client.app[ATTEMPTS]) == 0



def test_a_real_server_tells_two_loopback_addresses_apart(tmp_path: Path) -> None:
    """200 wrong tokens from 127.0.0.2 on one connection; 127.0.0.1 still gets in."""
    root = make_tree(tmp_path / "lib", SMALL_TREE)
    server = LiveServer(*leader_args(root, tmp_path / "cache", "--token", TOKEN))
    try:
        port = urlsplit(server.url).port
        guesser = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                             source_address=("127.0.0.2", 0))
        statuses: Counter[int] = Counter()
        for n in range(200):
            guesser.request("GET", "/api/status", headers=wrong(n))
            resp = guesser.getresponse()
            resp.read()
            statuses[resp.status] += 1
        guesser.request("GET", "/api/status", headers=right())
        refused = guesser.getresponse()
        refused.read()
        guesser.close()
        assert statuses == {401: 10, 429: 190}
        assert (refused.status, refused.getheader("Retry-After")) == (429, "60")
        assert server.get(f"/api/status?token={TOKEN}")[0] == 200  # from 127.0.0.1
    finally:
        assert server.stop() == 0
    log = server.log_text()
    assert log.count("10 wrong access tokens or links from 127.0.0.2 within 60s") == 1, log
