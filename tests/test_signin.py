"""Token mode in a browser: the sign-in page, the cookie, the way back; what start-up prints."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.cli.addresses import start_lines
from mediasrv.settings import Settings

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
async def tclient(started: Callable[..., Any], settings_for: Callable[..., Settings],
                  library: Path) -> TestClient:
    return await started(settings_for(library, token="s3cret-0123456789"))


async def test_a_page_without_the_token_is_the_sign_in_page(tclient: TestClient) -> None:
    resp = await tclient.get("/tag/Beach?page=1", headers=HTML)
    assert (resp.status, resp.content_type) == (401, "text/html")
    html = await resp.text()
    assert "Sign in to mediasrv" in html
    assert '<form method="post" action="/signin"' in html
    assert '<input type="hidden" name="next" value="/tag/Beach?page=1">' in html
    assert "Beach" not in html.replace("/tag/Beach?page=1", "")  # nothing of the library
    assert resp.headers["Cache-Control"] == "no-store"


async def test_json_requests_keep_a_json_401_that_names_both_ways(tclient: TestClient) -> None:
    resp = await tclient.get("/api/tags", headers=HTML)  # even from a browser
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (401, "unauthorized")
    assert "Authorization: Bearer TOKEN" in body["error"]["message"]
    assert "?token=TOKEN" in body["error"]["message"]


async def test_the_right_token_sets_the_cookie_and_goes_back(tclient: TestClient) -> None:
    resp = await tclient.post("/signin", data={"token": "s3cret-0123456789",
                                               "next": "/tag/Beach?page=1"}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/tag/Beach?page=1")
    cookie = resp.cookies["mediasrv_token"]
    assert (cookie.value, cookie["httponly"], cookie["samesite"]) == (
        "s3cret-0123456789", True, "Strict")
    assert (await tclient.get("/tag/Beach?page=1", headers=HTML)).status == 200


async def test_a_wrong_token_says_so_and_sets_nothing(tclient: TestClient) -> None:
    resp = await tclient.post("/signin", data={"token": "guess", "next": "/"},
                              allow_redirects=False)
    assert resp.status == 401
    assert "That is not the access token" in await resp.text()
    assert "mediasrv_token" not in resp.cookies
    assert (await tclient.get("/", headers=HTML)).status == 401


@pytest.mark.parametrize("next_url", ["//evil.example/", "https://evil.example/", "/\\evil",
                                      "/signin", "tag/Beach"])
async def test_sign_in_only_goes_on_to_a_page_of_this_server(tclient: TestClient,
                                                            next_url: str) -> None:
    resp = await tclient.post("/signin", data={"token": "s3cret-0123456789", "next": next_url},
                              allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/")


async def test_the_sign_in_page_itself_can_be_opened(tclient: TestClient) -> None:
    resp = await tclient.get("/signin?next=/search%3Fq%3Dimg", headers=HTML)
    assert resp.status == 200
    assert 'name="next" value="/search?q=img"' in await resp.text()


async def test_a_token_in_a_page_address_is_taken_out_of_it(tclient: TestClient) -> None:
    resp = await tclient.get("/search?q=img&token=s3cret-0123456789", headers=HTML,
                             allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/search?q=img")
    assert resp.cookies["mediasrv_token"].value == "s3cret-0123456789"
    assert (await tclient.get("/search?q=img", headers=HTML)).status == 200


async def test_without_a_token_signing_in_just_goes_on(client: TestClient) -> None:
    resp = await client.post("/signin", data={"next": "/tag/Beach"}, allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (303, "/tag/Beach")


async def test_a_sign_in_from_another_site_is_refused(tclient: TestClient) -> None:
    resp = await tclient.post("/signin", data={"token": "s3cret-0123456789"},
                              headers={"Origin": "https://evil.example",
                                       "Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403


# -- what `mediasrv serve` prints ----------------------------------------------


def test_listening_everywhere_prints_an_address_another_machine_can_open() -> None:
    lines = start_lines("/lib", "0.0.0.0", 8094, token=True,
                        find=lambda family: "192.168.1.20")
    assert lines[0] == ("serving /lib at http://192.168.1.20:8094/ "
                        "(on this machine: http://127.0.0.1:8094/)")
    assert "sign in there with the access token" in lines[1]
    assert "0.0.0.0" not in " ".join(lines)


def test_ipv6_everywhere_prints_a_bracketed_address() -> None:
    lines = start_lines("/lib", "::", 8094, token=True, find=lambda family: "fd00::2"
                        if family == socket.AF_INET6 else None)
    assert lines[0].startswith("serving /lib at http://[fd00::2]:8094/")


def test_without_a_network_address_it_says_so() -> None:
    lines = start_lines("/lib", "0.0.0.0", 8094, token=True, find=lambda family: None)
    assert lines[0] == ("serving /lib at http://127.0.0.1:8094/ "
                        "(this machine has no network address yet)")


def test_a_named_address_is_printed_as_it_is_and_loopback_needs_no_sign_in() -> None:
    assert start_lines("/lib", "192.168.1.5", 80, token=True)[0] == (
        "serving /lib at http://192.168.1.5:80/")
    assert start_lines("/lib", "127.0.0.1", 8080, token=False) == [
        "serving /lib at http://127.0.0.1:8080/"]
