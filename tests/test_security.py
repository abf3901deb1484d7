"""Who may talk to the server: the Host it is reached by, the access token, the origin of writes."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request

from mediasrv.server.middleware import _write_allowed

from .conftest import make_app


async def tokened(started, settings_for, library: Path) -> TestClient:  # type: ignore[no-untyped-def]
    return await started(settings_for(library, token="s3cret-0123456789"))


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
    resp = await client.get("/api/tags", headers={"Authorization": "Bearer s3cret-0123456789"})
    assert resp.status == 200
    resp = await client.post("/api/rescan", headers={"Authorization": "Bearer s3cret-0123456789"})
    assert resp.status == 202


async def test_token_in_the_url_sets_a_cookie_for_the_browser(
    started,
    settings_for,
    library: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = await tokened(started, settings_for, library)
    resp = await client.get("/api/tags?token=s3cret-0123456789")
    assert resp.status == 200
    cookie = resp.cookies["mediasrv_token"]
    assert (cookie.value, cookie["httponly"], cookie["samesite"]) == (
        "s3cret-0123456789", True, "Strict")
    # the client's cookie jar now carries it
    assert (await client.get("/media/notes.txt")).status == 200


# -- DNS rebinding: the Host a request names --------------------------------

# One route of every kind: pages, JSON, bytes, events, static files, an unknown path.
ROUTES = ["/", "/tag/All", "/view/All/notes.txt", "/search?q=notes", "/random/All",
          "/api/tags", "/api/files?tag=All", "/api/status", "/api/random?tag=All",
          "/media/notes.txt", "/thumb/notes.txt", "/static/app.js", "/api/events", "/nope"]
FORGED_HOSTS = [
    "evil.example:8080", "evil.example", "EVIL.EXAMPLE:8080", "192.168.1.5:8080", "10.0.0.1",
    "0.0.0.0:8080", "localhost.:8080", "localhost.", "127.0.0.1.:8080", "a.localhost:8080",
    "localhost.evil.example", "127.0.0.1.nip.io:8080", "[2001:db8::1]:8080",
    "[::ffff:127.0.0.1]:8080", "::1", "", "localhost:8080:1",
]


async def refused_as_forbidden_host(resp) -> None:  # type: ignore[no-untyped-def]
    assert resp.status == 421, (resp.url, await resp.text())
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert body["error"]["code"] == "forbidden_host"
    assert "notes" not in json.dumps(body) and "generation" not in body


@pytest.mark.parametrize("route", ROUTES)
async def test_forged_host_is_refused_on_every_route(client: TestClient, route: str) -> None:
    for host in FORGED_HOSTS:
        for accept in ("text/html", "application/json"):
            resp = await client.get(route, headers={"Host": host, "Accept": accept},
                                    allow_redirects=False)
            await refused_as_forbidden_host(resp)
    resp = await client.head(route, headers={"Host": "evil.example:8080"}, allow_redirects=False)
    assert resp.status == 421


async def test_forged_host_cannot_rescan(client: TestClient) -> None:
    for host in FORGED_HOSTS:
        resp = await client.post("/api/rescan", headers={"Host": host,
                                                         "Origin": f"http://{host}"})
        await refused_as_forbidden_host(resp)
    status = await (await client.get("/api/status")).json()
    assert (status["scan"], status["last_scan"]["id"]) == (None, 1)


async def test_refusal_message_names_the_host_and_the_way_to_allow_it(client: TestClient) -> None:
    resp = await client.get("/api/tags", headers={"Host": "Media.Example.org:8443"})
    assert (await resp.json())["error"]["message"] == (
        "this server does not answer to the name 'media.example.org' (a defence against DNS "
        "rebinding): use localhost or 127.0.0.1, start mediasrv with --allowed-host "
        "media.example.org, or set a --token"
    )


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST:8080", "localhost:1", "127.0.0.1", "127.0.0.1:9", "127.1.2.3:8080",
     "[::1]", "[::1]:8080", "[0:0:0:0:0:0:0:1]:8080"],
)
async def test_loopback_names_are_served(client: TestClient, host: str) -> None:
    for route in ("/", "/api/tags", "/media/notes.txt", "/thumb/notes.txt"):
        resp = await client.get(route, headers={"Host": host})
        assert resp.status == 200, (route, await resp.text())


async def test_allowed_host_is_served_and_only_it(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await started(settings_for(library, allowed_hosts=("media.example.org",)))
    for host in ("media.example.org", "MEDIA.example.org:443", "127.0.0.1"):
        for route in ("/", "/api/files?tag=All", "/media/notes.txt", "/thumb/notes.txt"):
            resp = await client.get(route, headers={"Host": host})
            assert resp.status == 200, (host, route)
    for host in ("evil.media.example.org", "media.example.org.", "example.org", "evil.example"):
        await refused_as_forbidden_host(await client.get("/api/tags", headers={"Host": host}))
    # behind a reverse proxy the page's origin is the public name
    resp = await client.post("/api/rescan", headers={"Host": "media.example.org",
                                                     "Origin": "https://media.example.org"})
    assert resp.status == 202


async def test_events_stream_only_for_an_allowed_host(client: TestClient) -> None:
    await refused_as_forbidden_host(
        await client.get("/api/events", headers={"Host": "evil.example:8080"}))
    resp = await client.get("/api/events", headers={"Host": "localhost:8080"})
    assert (resp.status, resp.content_type) == (200, "text/event-stream")
    assert (await resp.content.readline()) == b"event: status\n"
    resp.close()


async def raw_request(client: TestClient, head: bytes) -> tuple[int, bytes]:
    """Send ``head`` byte for byte to the real server and read the whole answer."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(head)
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


async def test_request_without_host_is_refused(client: TestClient) -> None:
    # HTTP/1.0 may omit Host; aiohttp then makes one up from the socket's address
    status, body = await raw_request(client, b"GET /api/files?tag=All HTTP/1.0\r\n\r\n")
    assert status == 421
    assert json.loads(body)["error"] == {"code": "forbidden_host",
                                         "message": "a Host header is required"}
    status, _ = await raw_request(client, b"GET /media/notes.txt HTTP/1.0\r\n\r\n")
    assert status == 421
    status, _ = await raw_request(client, b"GET /api/tags HTTP/1.0\r\nHost: localhost\r\n\r\n")
    assert status == 200


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/tags HTTP/1.1\r\nConnection: close\r\n\r\n",  # HTTP/1.1 needs a Host
        b"GET /api/tags HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n"
        b"Connection: close\r\n\r\n",
        b"GET /api/tags HTTP/1.1\r\nHost: evil.example\r\nHost: localhost\r\n"
        b"Connection: close\r\n\r\n",
    ],
)
async def test_missing_or_doubled_host_is_never_served(client: TestClient, head: bytes) -> None:
    status, body = await raw_request(client, head)
    assert status == 400  # aiohttp's parser refuses these before any handler runs
    assert b"notes" not in body


async def test_absolute_target_naming_another_host_is_refused(client: TestClient) -> None:
    status, body = await raw_request(
        client, b"GET http://evil.example/api/tags HTTP/1.1\r\nHost: localhost\r\n"
                b"Connection: close\r\n\r\n")
    assert status == 421
    assert json.loads(body)["error"]["code"] == "forbidden_host"


async def test_each_refused_host_is_logged_once(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mediasrv.hosts")
    for route in ("/api/tags", "/api/files?tag=All", "/media/notes.txt") * 20:
        await client.get(route, headers={"Host": "evil.example:8080"})
    lines = [r for r in caplog.records if r.name == "mediasrv.hosts"]
    assert [r.getMessage() for r in lines] == [
        "refused GET '/api/tags': Host 'evil.example:8080' is neither loopback nor an "
        "--allowed-host"
    ]
    assert (lines[0].levelno, lines[0].exc_info) == (logging.WARNING, None)


# -- with a token, the token alone is the check -----------------------------


async def test_with_a_token_any_host_may_serve_with_the_token(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await tokened(started, settings_for, library)
    lan = {"Host": "192.168.1.5:8080"}
    for route in ("/api/tags", "/media/notes.txt", "/"):
        assert (await client.get(route, headers=lan)).status == 401
        resp = await client.get(route, headers={**lan, "Authorization": "Bearer s3cret-0123456789"})
        assert resp.status == 200, route
    assert (await client.get("/api/tags", headers={"Host": "evil.example:8080"})).status == 401


async def test_with_a_token_the_servers_own_page_may_post_from_any_name(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await tokened(started, settings_for, library)
    auth = {"Host": "192.168.1.5:8080", "Authorization": "Bearer s3cret-0123456789"}
    resp = await client.post("/api/rescan", headers={**auth, "Origin": "http://192.168.1.5:8080"})
    assert resp.status == 202
    for origin in ("http://evil.example:8080", "http://192.168.1.5:9000", "null"):
        resp = await client.post("/api/rescan", headers={**auth, "Origin": origin})
        assert resp.status == 403, origin
        assert (await resp.json())["error"]["code"] == "forbidden_origin"


# -- the same-origin rule for writes -----------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example:8080"},
        {"Origin": "http://localhost.evil.example:8080"},
        {"Origin": "http://127.0.0.1.nip.io"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
        {"Origin": "http://localhost:3000", "Sec-Fetch-Site": "cross-site"},
        {"Host": "localhost", "Origin": "http://localhost.evil.example"},
    ],
)
async def test_write_from_another_origin_is_refused(
    client: TestClient, headers: dict[str, str]
) -> None:
    resp = await client.post("/api/rescan", headers=headers)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden_origin"


@pytest.mark.parametrize(("token", "allowed"), [(None, False), ("s3cret-0123456789", True)])
def test_write_rule_trusts_an_origin_equal_to_the_host_only_after_the_token(
    settings_for, library: Path, token: str | None, allowed: bool  # type: ignore[no-untyped-def]
) -> None:
    # what a rebound page sends: its own name as Host and as Origin
    app = make_app(settings_for(library, token=token), components=[])
    request = make_mocked_request("POST", "/api/rescan", app=app, headers={
        "Host": "evil.example:8080", "Origin": "http://evil.example:8080"})
    assert _write_allowed(request, token_checked=token is not None) is allowed


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost:3000"},  # any port: ssh -L tunnels, proxies on loopback
        {"Origin": "http://[::1]:8080", "Sec-Fetch-Site": "same-origin"},
        # our own form under Referrer-Policy: no-referrer sends Origin: null
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {},  # curl: not a browser page
    ],
)
async def test_write_from_an_allowed_origin_is_accepted(
    client: TestClient, headers: dict[str, str]
) -> None:
    resp = await client.post("/api/rescan", headers=headers)
    assert resp.status == 202


# -- headers that keep a ?token= to ourselves --------------------------------


@pytest.mark.parametrize(
    "route", ["/", "/tag/All", "/view/All/notes.txt", "/search?q=notes", "/tag/Nope",
              "/media/notes.txt", "/thumb/notes.txt"],
)
async def test_pages_and_media_send_no_referrer(client: TestClient, route: str) -> None:
    resp = await client.get(route, headers={"Accept": "text/html"})
    assert resp.status in (200, 404)
    assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_token_cookie_from_a_page_is_httponly_and_strict(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await tokened(started, settings_for, library)
    resp = await client.get("/?token=s3cret-0123456789")
    assert resp.status == 200
    cookie = resp.cookies["mediasrv_token"]
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (True, "Strict", "/")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
