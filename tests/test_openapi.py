"""``/api/openapi.json``: a valid OpenAPI 3.1 description, true to the routes and to the answers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from mediasrv import __version__, errors
from mediasrv.serve import status as shapes
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.openapi import SPEC_FILE
from mediasrv.settings import Settings

from .support import make_app, make_tree
from .support.openapi import check_event, check_json, read_events, spec

REPO = Path(__file__).resolve().parent.parent

# Routes for people, not scripts: HTML pages and the files they load. Every
# other route is part of the API and must be described.
PAGES = {
    ("GET", "/"),
    ("GET", "/tag/{tag}"),
    ("GET", "/view/{rest}"),
    ("GET", "/random/{tag}"),
    ("GET", "/search"),
    ("GET", "/static/{name}"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("GET", "/shares"),
    # a share link's pages: the same pages for its recipient
    ("GET", "/s/{id}"),
    ("GET", "/s/{id}/"),
    ("GET", "/s/{id}/view/{path}"),
    ("GET", "/s/{id}/random"),
    ("GET", "/s/{id}/search"),
    ("GET", "/s/static/{name}"),
}


def routed(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, as OpenAPI writes paths (``{name}``, no regex)."""
    found = set()
    for route in app.router.routes():
        if route.method == "HEAD":  # aiohttp adds one to every GET
            continue
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.resource.canonical)
        found.add((route.method, path))
    return found


def documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in spec()["paths"].items() for method in ops}


def _schema(*where: str) -> dict[str, Any]:
    """The schema at ``where``: a component, then properties (``[]``: an array's items,
    ``?``: the object of an object-or-null)."""
    schema: dict[str, Any] = spec()["components"]["schemas"][where[0]]
    for step in where[1:]:
        if step == "[]":
            schema = schema["items"]
        elif step == "?":
            schema = schema["anyOf"][0]
        else:
            schema = schema["properties"][step]
    return schema


@pytest.mark.parametrize(("shape", "where"), [
    (shapes.Status, ("Status",)),
    (shapes.ScanInfo, ("Scan",)),
    (shapes.WatcherStatus, ("Status", "watcher")),
    (shapes.FollowerStatus, ("Status", "follower")),
    (shapes.SwapInfo, ("Status", "follower", "last_swap", "?")),
    (shapes.ThumbnailsStatus, ("Status", "thumbnails")),
    (shapes.WorkersStatus, ("Status", "workers")),
    (shapes.WorkerInfo, ("Status", "workers", "followers", "[]")),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_the_declared_status_and_its_description_have_the_same_keys(
    shape: Any, where: tuple[str, ...]
) -> None:
    schema = _schema(*where)
    assert list(schema["properties"]) == list(shape.__annotations__)
    assert set(schema["required"]) == shape.__required_keys__


def test_the_description_is_valid_openapi_3_1() -> None:
    document, _ = read_from_filename(str(SPEC_FILE))
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_is_described_and_every_described_path_is_routed(
    settings_for, lib_root: Path  # type: ignore[no-untyped-def]
) -> None:
    app = make_app(settings_for(lib_root))
    routes = routed(app)
    assert documented() - routes == set(), "described but not routed"
    assert routes - PAGES - documented() == set(), "routed but not described (or a page: PAGES)"
    assert {r for r in routes if r[1].startswith("/api/")} <= documented()


def test_every_error_code_of_the_code_is_described() -> None:
    text = SPEC_FILE.read_text()
    codes = {cls.code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.MediasrvError)}
    codes -= {"error", "bad_request", "scan_failed"}  # bases, and a scan's failure is a status
    codes |= {"forbidden_host", "unauthorized", "forbidden_origin", "not_found",
              "method_not_allowed"}
    missing = {code for code in codes if not re.search(rf"\b{code}\b", text)}
    assert missing == set()


async def test_served_at_api_openapi_json(client: TestClient) -> None:
    resp = await client.get("/api/openapi.json")
    assert (resp.status, resp.content_type) == (200, "application/json")
    body = await resp.json()
    assert body["info"]["version"] == __version__
    assert body["paths"] == spec()["paths"]
    check_json("/api/openapi.json", "GET", 200, body)


def test_readme_scripting_section_points_to_the_description() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Scripting", 1)[1].split("\n## ", 1)[0]
    assert "/api/openapi.json" in section


async def answer(client: TestClient, method: str, url: str, template: str) -> dict[str, Any]:
    resp = await client.request(method, url)
    body = await resp.json()
    check_json(template, method, resp.status, body)
    return {"http": resp.status, **body}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "template", "status"),
    [
        ("/api/tags", "/api/tags", 200),
        ("/api/files?tag=Beach&offset=1&limit=2", "/api/files", 200),
        ("/api/files?limit=0", "/api/files", 400),
        ("/api/files?limit=" + "9" * 5000, "/api/files", 400),
        ("/api/files?offset=%D9%A3", "/api/files", 400),  # an Arabic-Indic 3 is no ASCII digit
        ("/api/files?tag=Nope", "/api/files", 404),
        ("/api/files?limit=1&limit=2", "/api/files", 400),  # which one? neither
        ("/api/files?utm=1&utm=2", "/api/files", 200),  # not read: may repeat
        ("/api/file?path=notes.txt", "/api/file", 200),
        ("/api/file?path=Trips/2024/Beach/img1.jpg&tag=Beach", "/api/file", 200),
        ("/api/file", "/api/file", 400),
        ("/api/file?path=nope.jpg", "/api/file", 404),
        ("/api/random?tag=Beach", "/api/random", 200),
        ("/api/random?tag=Nope", "/api/random", 404),
        ("/api/search?q=img&limit=2", "/api/search", 200),
        ("/api/search?limit=x", "/api/search", 400),
        ("/api/status", "/api/status", 200),
        ("/api/zip?tag=Nope", "/api/zip", 404),
        ("/api/zip?tag=a&tag=b", "/api/zip", 400),
        ("/media/nope.jpg", "/media/{path}", 404),
        ("/thumb/nope.jpg", "/thumb/{path}", 404),
    ],
)
async def test_answers_match_the_description(
    client: TestClient, url: str, template: str, status: int
) -> None:
    assert (await answer(client, "GET", url, template))["http"] == status


async def test_rescan_answers_match_the_description(client: TestClient, lib_root: Path) -> None:
    make_tree(lib_root, {"new/a.jpg": "x"})
    done = await answer(client, "POST", "/api/rescan?wait=1", "/api/rescan")
    assert (done["http"], done["status"], done["added"]) == (200, "published", 1)
    assert (await answer(client, "POST", "/api/rescan?path=new", "/api/rescan"))["http"] == 202
    bad = await answer(client, "POST", "/api/rescan?path=../x", "/api/rescan")
    assert (bad["http"], bad["error"]["code"]) == (400, "bad_parameter")
    status = await answer(client, "GET", "/api/status", "/api/status")
    assert status["last_scan"] is not None


async def test_a_method_a_path_does_not_have_is_405_with_allow(client: TestClient) -> None:
    resp = await client.delete("/api/tags")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) == {"GET", "HEAD"}


async def test_index_not_ready_matches_the_description(
    aiohttp_client, settings_for, lib_root: Path  # type: ignore[no-untyped-def]
) -> None:
    app = make_app(settings_for(lib_root), LeaderOptions(startup_scan=False))
    client = await aiohttp_client(app)
    for template in ("/api/tags", "/api/files", "/api/search"):
        assert (await answer(client, "GET", template, template))["http"] == 503


async def test_events_are_the_described_ones(client: TestClient, lib_root: Path) -> None:
    resp = await client.get("/api/events")
    assert resp.content_type == "text/event-stream"
    events = read_events(resp.content)
    seen: list[str] = []

    async def collect() -> None:
        async for name, data in events:
            check_event(name, data)
            seen.append(name)
            if name in ("finished", "failed"):
                return

    first = await asyncio.wait_for(anext(events), 30)
    check_event(*first)
    assert first[0] == "status"
    make_tree(lib_root, {"new/b.jpg": "x"})
    await client.post("/api/rescan")
    await asyncio.wait_for(collect(), 30)
    assert seen[0] == "started" and seen[-1] == "finished" and "progress" in seen
    resp.close()


def test_a_file_object_is_described_with_every_key(tmp_path: Path) -> None:
    """The keys the snapshot puts in a file are the keys the description requires."""
    from mediasrv.snapshot.base import file_dict

    keys = set(file_dict(("a/b.jpg", "jpg", "image", 1, 2, None, None, None, None)))
    assert keys == set(spec()["components"]["schemas"]["File"]["required"])


def test_settings_carry_the_scan_timeout() -> None:
    assert Settings().scan_timeout == 300.0
