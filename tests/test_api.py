"""The JSON API on a small library."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR

from .support import make_app, make_tree, rescan


async def test_tags_with_counts_all_first(client: TestClient) -> None:
    resp = await client.get("/api/tags")
    assert resp.status == 200
    body = await resp.json()
    assert body["generation"] == 1
    assert body["tags"] == [
        {"name": "All", "count": 7},
        {"name": "Favourites", "count": 0},
        {"name": "2023", "count": 1},
        {"name": "2024", "count": 4},
        {"name": "Beach", "count": 4},  # the folder, and [beach] (one tag, one file in both)
        {"name": "family", "count": 1},
        {"name": "Lake", "count": 1},
        {"name": "Music", "count": 1},
        {"name": "Trips", "count": 5},
    ]


async def test_files_page_in_natural_order(client: TestClient) -> None:
    body = await (await client.get("/api/files?tag=Beach&offset=1&limit=2")).json()
    assert (body["generation"], body["tag"], body["total"], body["offset"], body["limit"]) == (
        1,
        "Beach",
        4,
        1,
        2,
    )
    assert [f["name"] for f in body["files"]] == ["img2.jpg", "img10.jpg"]
    first = body["files"][0]
    assert first == {
        "path": "Trips/2024/Beach/img2.jpg",
        "name": "img2.jpg",
        "ext": "jpg",
        "kind": "image",
        "size": 20,
        "mtime_ns": 1_600_000_000 * 10**9,
        "width": None,
        "height": None,
        "duration": None,
        "taken_ns": None,
        "audio": None,
        "display_path": "Trips/2024/Beach/img2.jpg",
        "name_guessed": False,
        "url": "/media/Trips/2024/Beach/img2.jpg",
        "thumb_url": "/thumb/Trips/2024/Beach/img2.jpg?v=20-1600000000000000000",
        "favourite": False,
    }


async def test_files_defaults_to_all(client: TestClient) -> None:
    body = await (await client.get("/api/files")).json()
    assert (body["tag"], body["total"], body["offset"], body["limit"], len(body["files"])) == (
        "All",
        7,
        0,
        100,
        7,
    )


async def test_page_past_the_end_is_empty(client: TestClient) -> None:
    body = await (await client.get("/api/files?tag=Beach&offset=4")).json()
    assert (body["total"], body["files"]) == (4, [])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("offset=-1", "offset must be between 0 and"),
        ("offset=abc", "offset must be a whole number, not 'abc'"),
        ("limit=0", "limit must be between 1 and 1000, not 0"),
        ("limit=1001", "limit must be between 1 and 1000, not 1001"),
        ("limit=1.5", "limit must be a whole number, not '1.5'"),
        ("limit=", "limit must be a whole number, not ''"),
        ("offset=", "offset must be a whole number, not ''"),
    ],
)
async def test_bad_offset_or_limit_is_400(client: TestClient, query: str, message: str) -> None:
    resp = await client.get(f"/api/files?{query}")
    assert resp.status == 400
    body = await resp.json()
    assert body["error"]["code"] == "bad_parameter"
    assert body["error"]["message"].startswith(message)


@pytest.mark.slow
@pytest.mark.parametrize(
    "url",
    ["/api/files?tag=Nope", "/api/random?tag=Nope", "/api/file?path=notes.txt&tag=Nope"],
)
async def test_unknown_tag_is_404(client: TestClient, url: str) -> None:
    resp = await client.get(url)
    assert resp.status == 404
    assert (await resp.json())["error"] == {"code": "unknown_tag", "message": "no tag named 'Nope'"}


async def test_file_with_neighbours(client: TestClient) -> None:
    body = await (await client.get("/api/file?path=Trips/2024/Beach/img2.jpg&tag=Beach")).json()
    assert (body["generation"], body["tag"], body["position"], body["total"]) == (1, "Beach", 1, 4)
    assert body["file"]["name"] == "img2.jpg"
    assert body["prev"]["name"] == "img1.jpg"
    assert body["next"]["name"] == "img10.jpg"


async def test_neighbours_at_both_ends_are_null(client: TestClient) -> None:
    first = await (await client.get("/api/file?path=Trips/2024/Beach/img1.jpg&tag=Beach")).json()
    assert (first["position"], first["prev"], first["next"]["name"]) == (0, None, "img2.jpg")
    last = await (
        await client.get(
            "/api/file",
            params={"path": "Trips/2024/Beach/sunset[beach family].jpg", "tag": "Beach"},
        )
    ).json()
    assert (last["position"], last["prev"]["name"], last["next"]) == (3, "img10.jpg", None)


async def test_file_defaults_to_tag_all(client: TestClient) -> None:
    body = await (await client.get("/api/file?path=notes.txt")).json()
    assert (body["tag"], body["position"], body["total"]) == ("All", 1, 7)
    assert (body["prev"]["name"], body["next"]["name"]) == ("song.mp3", "clip.mp4")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/file?path=missing.jpg", 404, "unknown_file"),
        ("/api/file?path=notes.txt&tag=Beach", 404, "unknown_file"),
        ("/api/file", 400, "bad_parameter"),
        ("/api/file?path=a%00b", 400, "bad_parameter"),
    ],
)
async def test_file_errors(client: TestClient, url: str, status: int, code: str) -> None:
    resp = await client.get(url)
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_random_file_belongs_to_the_tag(client: TestClient) -> None:
    for _ in range(20):
        body = await (await client.get("/api/random?tag=Beach")).json()
        assert body["generation"] == 1
        assert body["file"]["path"].startswith("Trips/2024/Beach/")


async def test_random_never_offers_a_deleted_file(client: TestClient, lib_root: Path) -> None:
    for name in ("img1.jpg", "img2.jpg", "img10.jpg"):
        (lib_root / "Trips/2024/Beach" / name).unlink()  # gone, and no rescan yet
    seen = {
        (await (await client.get("/api/random?tag=Beach")).json())["file"]["name"]
        for _ in range(30)
    }
    assert seen == {"sunset[beach family].jpg"}


async def test_random_when_every_file_is_gone(client: TestClient, lib_root: Path) -> None:
    (lib_root / "Trips/2023/Lake/clip.mp4").unlink()
    resp = await client.get("/api/random?tag=Lake")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "file_gone"


async def test_random_in_an_empty_library(started, settings_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    client = await started(settings_for(tmp_path / "empty"))
    resp = await client.get("/api/random")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "unknown_file"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("img", ["img1.jpg", "img2.jpg", "img10.jpg"]),
        ("IMG1", ["img1.jpg", "img10.jpg"]),
        ("beach sun", ["sunset[beach family].jpg"]),
        ("famil", ["sunset[beach family].jpg"]),
        ("lake", ["clip.mp4"]),
        ("mp", ["song.mp3", "clip.mp4"]),
        ("zzz", []),
        ("", []),
        ("  !!  ", []),
    ],
)
async def test_search_by_word_prefix(client: TestClient, q: str, names: list[str]) -> None:
    resp = await client.get("/api/search", params={"q": q})
    body = await resp.json()
    assert resp.status == 200
    assert (body["generation"], body["q"]) == (1, q)
    assert [f["name"] for f in body["files"]] == names


async def test_search_limit(client: TestClient) -> None:
    body = await (await client.get("/api/search?q=jpg&limit=2")).json()
    assert [f["name"] for f in body["files"]] == ["img1.jpg", "img2.jpg"]
    assert (await client.get("/api/search?q=jpg&limit=0")).status == 400


async def test_status(client: TestClient) -> None:
    body = await (await client.get("/api/status")).json()
    assert (body["generation"], body["state"], body["files"], body["scanning"], body["scan"]) == (
        1,
        "sqlite",
        7,
        False,
        None,
    )
    assert body["db_path"].endswith("/cache/current.db")
    assert body["last_scan"]["status"] == "published"
    assert body["last_scan"]["reasons"] == ["startup"]


async def test_rescan_wait_reports_what_changed(client: TestClient, lib_root: Path) -> None:
    make_tree(lib_root, {"Music/new.mp3": "x"})
    (lib_root / "notes.txt").unlink()
    body = await rescan(client)
    assert {
        k: body[k]
        for k in ("status", "generation", "files", "added", "removed", "changed", "error")
    } == {
        "status": "published",
        "generation": 2,
        "files": 7,
        "added": 1,
        "removed": 1,
        "changed": 0,
        "error": None,
    }
    assert body["scan_id"] == 2
    assert (await (await client.get("/api/tags")).json())["generation"] == 2


async def test_rescan_without_wait_is_accepted(client: TestClient) -> None:
    resp = await client.post("/api/rescan")
    assert resp.status == 202
    body = await resp.json()
    assert body == {"scan_id": 2, "status": "queued", "status_url": "/api/status", "paths": None}
    await client.app[COORDINATOR].wait_idle()
    status = await (await client.get("/api/status")).json()
    assert (status["last_scan"]["id"], status["last_scan"]["status"]) == (2, "unchanged")


async def test_rescan_from_another_origin_is_refused(client: TestClient) -> None:
    resp = await client.post("/api/rescan", headers={"Origin": "http://evil.example"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden_origin"
    resp = await client.post("/api/rescan", headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403


async def test_rescan_from_the_same_origin_is_accepted(client: TestClient) -> None:
    origin = f"http://{client.server.host}:{client.server.port}"
    resp = await client.post("/api/rescan", headers={"Origin": origin})
    assert resp.status == 202


async def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    resp = await client.get("/api/nope")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_undecodable_names_round_trip_through_the_api(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root = make_tree(tmp_path / "lib", {b"caf\xe9/\xff.jpg": b"bytes!", "ok.jpg": b"fine"})
    client = await started(settings_for(root))
    tags = await (await client.get("/api/tags")).json()
    assert [t["name"] for t in tags["tags"]] == ["All", "Favourites", "caf\udce9"]
    files = await (await client.get("/api/files?tag=caf%E9")).json()
    (entry,) = files["files"]
    assert entry["path"] == "caf\udce9/\udcff.jpg"
    # Shown as a guess (Windows-1252), marked as one; path and url keep the bytes.
    assert (entry["display_path"], entry["name_guessed"]) == ("café/ÿ.jpg", True)
    assert entry["url"] == "/media/caf%E9/%FF.jpg"
    detail = await (await client.get("/api/file?path=caf%E9/%FF.jpg&tag=caf%E9")).json()
    assert detail["file"]["path"] == entry["path"]
    media = await client.get(entry["url"])
    assert (media.status, await media.read()) == (200, b"bytes!")


async def test_api_answers_503_until_the_first_index_exists(
    aiohttp_client,
    settings_for,
    lib_root: Path,  # type: ignore[no-untyped-def]
) -> None:
    app = make_app(settings_for(lib_root), LeaderOptions(startup_scan=False))
    client = await aiohttp_client(app)
    resp = await client.get("/api/files")
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "2"
    assert (await resp.json())["error"]["code"] == "index_not_ready"
    status = await (await client.get("/api/status")).json()
    assert (status["generation"], status["files"]) == (None, None)
    body = await rescan(client)
    assert (body["status"], body["generation"]) == ("published", 1)
    assert (await client.get("/api/files")).status == 200


async def test_random_finds_the_last_survivor_among_many_deleted(
    started,
    settings_for,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root = make_tree(tmp_path / "lib", {f"d/{i}.jpg": "" for i in range(300)})
    client = await started(settings_for(root), LeaderOptions(startup_scan=True))
    for i in range(300):
        if i != 123:
            (root / "d" / f"{i}.jpg").unlink()
    for _ in range(5):
        body = await (await client.get("/api/random?tag=d")).json()
        assert body["file"]["path"] == "d/123.jpg"
