"""Share links: made by the owner, opened by a recipient without the token, scoped to one tag."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.server.shares import SHARES
from mediasrv.settings import Settings

from .support import h264_bytes, jpeg_bytes, make_tree, rescan

TOKEN = "a-token-long-enough-1234"
OWNER = {"Authorization": f"Bearer {TOKEN}"}
VIDEO = h264_bytes(seconds=1.0)


@pytest.fixture
def shared_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", {
        "Trips/Beach/a.jpg": jpeg_bytes(color=(200, 30, 30)),
        "Trips/Beach/b.jpg": jpeg_bytes(color=(30, 30, 200)),
        "Trips/Beach/clip.mp4": VIDEO,
        "Home/secret.jpg": jpeg_bytes(color=(30, 200, 30)),
        "Home/beach.jpg": jpeg_bytes(color=(90, 90, 90)),
    })


@pytest.fixture
async def owner(started: Callable[..., Any], shared_tree: Path,
                settings_for: Callable[..., Settings]) -> TestClient:
    """A server with --token: the owner sends it, a recipient does not."""
    return await started(settings_for(shared_tree, token=TOKEN))


async def make_share(client: TestClient, query: str = "tag=Beach", **headers: str) -> Any:
    resp = await client.post(f"/api/shares?{query}", headers={**OWNER, **headers})
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def code_of(resp: Any) -> tuple[int, str]:
    """(status, error code) of a JSON error or of an HTML error page."""
    if resp.content_type == "text/html":
        found = re.search(r'data-code="([a-z_]+)"', await resp.text())
        return resp.status, found.group(1) if found else ""
    return resp.status, (await resp.json())["error"]["code"]


# -- the owner's API ---------------------------------------------------------------


async def test_a_share_is_made_listed_and_revoked(owner: TestClient) -> None:
    share = await make_share(owner, "tag=Beach&expires_in=3600&download=1")
    assert sorted(share) == ["created_at", "download", "expires_at", "id", "tag", "url"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", share["id"])  # 192 random bits
    assert (share["url"], share["tag"], share["download"]) == (f"/s/{share['id']}/", "Beach",
                                                              True)
    assert share["expires_at"] > share["created_at"]
    never = await make_share(owner, "tag=Home")
    assert (never["expires_at"], never["download"]) == (None, False)
    listed = await (await owner.get("/api/shares", headers=OWNER)).json()
    assert [s["id"] for s in listed["shares"]] in ([never["id"], share["id"]],
                                                   [share["id"], never["id"]])
    resp = await owner.delete(f"/api/shares/{share['id']}", headers=OWNER)
    assert resp.status == 204
    listed = await (await owner.get("/api/shares", headers=OWNER)).json()
    assert [s["id"] for s in listed["shares"]] == [never["id"]]
    resp = await owner.delete(f"/api/shares/{share['id']}", headers=OWNER)
    assert await code_of(resp) == (404, "share_not_found")


@pytest.mark.parametrize(("query", "status", "code"), [
    ("tag=Nowhere", 404, "unknown_tag"),
    ("", 400, "bad_parameter"),
    ("tag=Beach&expires_in=0", 400, "bad_parameter"),
    ("tag=Beach&expires_in=-5", 400, "bad_parameter"),
    ("tag=Beach&expires_in=soon", 400, "bad_parameter"),
    ("tag=Beach&expires_in=", 400, "bad_parameter"),
    ("tag=Beach&download=maybe", 400, "bad_parameter"),
])
async def test_bad_share_requests_are_refused(owner: TestClient, query: str, status: int,
                                              code: str) -> None:
    resp = await owner.post(f"/api/shares?{query}", headers=OWNER)
    assert await code_of(resp) == (status, code)
    assert (await (await owner.get("/api/shares", headers=OWNER)).json())["shares"] == []


async def test_only_the_owner_makes_lists_and_revokes_shares(owner: TestClient) -> None:
    share = await make_share(owner)
    assert (await owner.post("/api/shares?tag=Beach")).status == 401
    assert (await owner.get("/api/shares")).status == 401
    assert (await owner.delete(f"/api/shares/{share['id']}")).status == 401
    foreign = await owner.post("/api/shares?tag=Beach",
                               headers={**OWNER, "Origin": "https://evil.example"})
    assert await code_of(foreign) == (403, "forbidden_origin")


# -- what the recipient sees -----------------------------------------------------------


async def test_the_recipient_browses_views_and_searches_the_tag(owner: TestClient) -> None:
    base = (await make_share(owner))["url"].rstrip("/")
    grid = await owner.get(f"{base}/")  # no token, no cookie
    assert grid.status == 200
    html = await grid.text()
    for name in ("a.jpg", "b.jpg", "clip.mp4"):
        assert name in html
    assert "secret.jpg" not in html and "/api/events" not in html
    assert 'href="/"' not in html and "Rescan" not in html and 'class="star' not in html
    assert f'href="{base}/view/Trips/Beach/a.jpg"' in html
    assert f'src="{base}/thumb/Trips/Beach/a.jpg?v=' in html
    taken = await owner.get(f"{base}/?sort=taken")
    assert taken.status == 200 and f"{base}/view/Trips/Beach/b.jpg?sort=taken" in await taken.text()
    view = await owner.get(f"{base}/view/Trips/Beach/a.jpg")
    page = await view.text()
    assert view.status == 200
    assert f'href="{base}/view/Trips/Beach/b.jpg"' in page  # → steps within the tag
    assert f'href="{base}/random"' in page
    found = await (await owner.get(f"{base}/search?q=jpg")).text()
    assert "a.jpg" in found and "b.jpg" in found and "beach.jpg" not in found
    assert (await owner.get(f"{base}/random")).status == 200  # followed to a view


async def test_the_recipients_thumbnails_and_previews_are_cached_for_good(
    owner: TestClient, shared_tree: Path,
) -> None:
    base = (await make_share(owner))["url"].rstrip("/")
    st = (shared_tree / "Trips/Beach/a.jpg").stat()
    version = f"v={st.st_size}-{st.st_mtime_ns}"
    html = await (await owner.get(f"{base}/view/Trips/Beach/a.jpg")).text()
    assert f'{base}/thumb/Trips/Beach/a.jpg?{version}' in await (await owner.get(f"{base}/")).text()
    for url in (f"{base}/thumb/Trips/Beach/a.jpg?{version}",
                f"{base}/preview/Trips/Beach/a.jpg?{version}"):
        resp = await owner.get(url)
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert f'data-preview="{base}/preview/Trips/Beach/a.jpg?{version}"' in html
    stale = await owner.get(f"{base}/thumb/Trips/Beach/a.jpg")
    assert stale.status == 200 and stale.headers["Cache-Control"] == "private, no-cache"


async def test_the_recipient_gets_bytes_with_range(owner: TestClient) -> None:
    base = (await make_share(owner))["url"].rstrip("/")
    video = await owner.get(f"{base}/media/Trips/Beach/clip.mp4",
                            headers={"Range": "bytes=0-99"})
    assert video.status == 206 and await video.read() == VIDEO[:100]
    assert video.headers["Content-Range"] == f"bytes 0-99/{len(VIDEO)}"
    for kind in ("thumb", "preview"):
        resp = await owner.get(f"{base}/{kind}/Trips/Beach/a.jpg")
        assert (resp.status, resp.content_type) == (200, "image/jpeg")
    css = await owner.get("/s/static/app.css")
    assert css.status == 200 and css.headers["X-Robots-Tag"] == "noindex, nofollow"
    for resp in (video, css, await owner.get(f"{base}/media/Home/secret.jpg")):
        assert resp.headers["X-Robots-Tag"] == "noindex, nofollow"
        assert resp.headers["Referrer-Policy"] == "no-referrer"


OUTSIDE = [
    "/s/{id}/media/Home/secret.jpg",
    "/s/{id}/thumb/Home/secret.jpg",
    "/s/{id}/preview/Home/secret.jpg",
    "/s/{id}/view/Home/secret.jpg",
    "/s/{id}/media/Trips/Beach/../../Home/secret.jpg",
    "/s/{id}/media/Trips/Beach/%2E%2E/%2E%2E/Home/secret.jpg",
    "/s/{id}/media/Trips/Beach/..%2F..%2FHome/secret.jpg",
    "/s/{id}/media/%2FHome/secret.jpg",
    "/s/{id}/media//etc/passwd",
    "/s/{id}/media/Trips/Beach/nothing.jpg",
    "/s/{id}/static/app.css",  # the pages' files are at /s/static/, the same for every share
    "/s/static/../../mediasrv/settings.py",
]


@pytest.mark.parametrize("url", OUTSIDE)
async def test_nothing_outside_the_tag_is_served(owner: TestClient, url: str) -> None:
    share = await make_share(owner)
    resp = await owner.get(url.format(id=share["id"]), headers={"Accept": "application/json"})
    if "static" in url:  # the client resolves the dots (/mediasrv/…): no route of a share
        assert resp.status in (401, 404)
        return
    assert await code_of(resp) == (404, "unknown_file")
    if resp.content_type == "application/json":  # nothing says whether it is elsewhere
        assert (await resp.json())["error"]["message"].endswith("' in this share")


@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/api/tags"), ("GET", "/api/files?tag=Home"), ("GET", "/api/events"),
    ("POST", "/api/rescan"), ("PUT", "/api/favourites?path=Trips/Beach/a.jpg"),
    ("GET", "/api/shares"), ("GET", "/tag/Home"), ("GET", "/media/Home/secret.jpg"),
    ("GET", "/shares"), ("GET", "/"), ("POST", "/s/{id}/"),
])
async def test_the_owners_routes_stay_closed_to_the_recipient(owner: TestClient, method: str,
                                                              url: str) -> None:
    share = await make_share(owner)
    resp = await owner.request(method, url.format(id=share["id"]),
                               headers={"Accept": "application/json"})
    assert resp.status in (401, 404, 405)


async def test_unknown_expired_and_revoked_links(owner: TestClient) -> None:
    share = await make_share(owner, "tag=Beach&expires_in=60")
    base = share["url"].rstrip("/")
    urls = [f"{base}/", f"{base}/view/Trips/Beach/a.jpg", f"{base}/media/Trips/Beach/a.jpg",
            f"{base}/thumb/Trips/Beach/a.jpg", f"{base}/search?q=a", f"{base}/random"]
    json = {"Accept": "application/json"}
    unknown = await owner.get("/s/" + "x" * 32 + "/", headers=json)
    assert await code_of(unknown) == (404, "share_not_found")
    assert [(await owner.get(u, allow_redirects=False)).status for u in urls] == [
        200] * 5 + [302]
    shares = owner.app[SHARES]
    real_clock = shares.clock
    shares.clock = lambda: real_clock() + 61
    assert [await code_of(await owner.get(u, headers=json)) for u in urls] == [
        (410, "share_expired")] * 6
    shares.clock = real_clock
    assert (await owner.delete(f"/api/shares/{share['id']}", headers=OWNER)).status == 204
    assert [await code_of(await owner.get(u, headers=json)) for u in urls] == [
        (404, "share_not_found")] * 6
    page = await owner.get(f"{base}/view/Trips/Beach/a.jpg", headers={"Accept": "text/html"})
    assert page.status == 404 and "text/html" in page.headers["Content-Type"]
    html = await page.text()  # nothing of the owner's: no tags, search, rescan, status
    assert 'href="/"' not in html and "/search" not in html and "Rescan" not in html
    assert 'href="/s/static/app.css?v=' in html


async def test_a_share_whose_tag_is_gone_answers_again_when_it_returns(
        owner: TestClient, shared_tree: Path) -> None:
    base = (await make_share(owner))["url"].rstrip("/")
    (shared_tree / "Trips/Beach").rename(shared_tree / "Trips/Shore")
    await rescan_with_token(owner)
    resp = await owner.get(f"{base}/", headers={"Accept": "application/json"})
    assert await code_of(resp) == (404, "share_tag_gone")
    media = await owner.get(f"{base}/media/Trips/Shore/a.jpg")
    assert media.status == 404
    (shared_tree / "Trips/Shore").rename(shared_tree / "Trips/Beach")
    await rescan_with_token(owner)
    assert (await owner.get(f"{base}/")).status == 200


async def rescan_with_token(client: TestClient) -> None:
    resp = await client.post("/api/rescan?wait=1", headers=OWNER)
    assert resp.status == 200


async def test_without_a_token_a_share_answers_any_host_name(
        started: Callable[..., Any], shared_tree: Path,
        settings_for: Callable[..., Settings]) -> None:
    """Loopback without a token: the owner's routes refuse a foreign Host (DNS rebinding);
    a share's do not, since the id is the credential."""
    client = await started(settings_for(shared_tree))
    share = await (await client.post("/api/shares?tag=Beach")).json()
    foreign = {"Host": "photos.example.net"}
    assert (await client.get(share["url"], headers=foreign)).status == 200
    assert (await client.get(f"{share['url']}media/Trips/Beach/a.jpg", headers=foreign)
            ).status == 200
    assert (await client.get("/api/tags", headers=foreign)).status == 421
    assert (await client.get(share["url"] + "media/Home/secret.jpg", headers=foreign)
            ).status == 404


# -- user data that lasts --------------------------------------------------------------


async def test_shares_survive_a_full_scan_and_a_restart(
        started: Callable[..., Any], shared_tree: Path, settings_for: Callable[..., Settings],
        tmp_path: Path) -> None:
    client = await started(settings_for(shared_tree))
    share = await (await client.post("/api/shares?tag=Beach&download=1")).json()
    full = await asyncio.to_thread(run_scan, shared_tree, CacheDir(tmp_path / "cache"),
                                   full=True)
    assert (await rescan(client))["generation"] == full.generation
    assert (await client.get(share["url"])).status == 200
    await client.close()
    again = await started(settings_for(shared_tree))
    listed = await (await again.get("/api/shares")).json()
    assert listed["shares"] == [share]
    assert (await again.get(share["url"] + "media/Trips/Beach/b.jpg")).status == 200


async def test_a_follower_serves_the_leaders_shares(
        started: Callable[..., Any], shared_tree: Path,
        settings_for: Callable[..., Settings]) -> None:
    leader = await started(settings_for(shared_tree))
    follower = await started(settings_for(shared_tree, follow=True))
    share = await (await leader.post("/api/shares?tag=Beach")).json()
    assert (await follower.get(share["url"])).status == 200
    assert 'id="share"' not in await (await follower.get("/tag/Beach")).text()  # made there
    listing = await (await follower.get("/shares")).text()
    assert share["url"] in listing and "revoke" not in listing
    assert (await follower.get(share["url"] + "media/Trips/Beach/a.jpg")).status == 200
    assert await code_of(await follower.post("/api/shares?tag=Beach")) == (409, "follower")
    assert await code_of(await follower.delete(f"/api/shares/{share['id']}")) == (409,
                                                                                 "follower")
    assert (await leader.delete(f"/api/shares/{share['id']}")).status == 204
    gone = await follower.get(share["url"], headers={"Accept": "application/json"})
    assert await code_of(gone) == (404, "share_not_found")  # closed at once everywhere


async def test_the_owner_has_a_share_button_and_a_shares_page(owner: TestClient) -> None:
    grid = await (await owner.get("/tag/Beach", headers=OWNER)).text()
    assert 'id="share" data-api="/api/shares?tag=Beach"' in grid
    assert 'href="/shares"' in grid
    share = await make_share(owner, "tag=Beach&expires_in=86400&download=1")
    page = await owner.get("/shares", headers=OWNER)
    html = await page.text()
    assert page.status == 200
    assert f'value="{share["url"]}"' in html
    assert f'data-api="/api/shares/{share["id"]}"' in html
    assert "<td>yes</td>" in html


async def test_a_workers_follower_passes_share_writes_to_its_leader(
        started: Callable[..., Any], shared_tree: Path, settings_for: Callable[..., Settings],
        aiohttp_client: Callable[..., Any]) -> None:
    """With --workers the kernel chooses which process gets a request: a share made or
    revoked through a follower is made or revoked by the leader."""
    from mediasrv.server.following import LEADER_URL

    from .support import make_app

    leader = await started(settings_for(shared_tree))
    app = make_app(settings_for(shared_tree, follow=True))
    app[LEADER_URL] = str(leader.make_url("/"))
    worker = await aiohttp_client(app)
    resp = await worker.post("/api/shares?tag=Beach")
    assert resp.status == 201
    share = await resp.json()
    listed = await (await leader.get("/api/shares")).json()
    assert listed["shares"] == [share]
    assert (await worker.get(share["url"])).status == 200
    assert (await worker.delete(f"/api/shares/{share['id']}")).status == 204
    assert (await (await leader.get("/api/shares")).json())["shares"] == []
    assert (await worker.get(share["url"])).status == 404


async def test_a_file_of_the_tag_deleted_since_the_scan_is_a_page_that_says_so(
        owner: TestClient, shared_tree: Path) -> None:
    base = (await make_share(owner))["url"].rstrip("/")
    (shared_tree / "Trips/Beach/b.jpg").unlink()
    page = await owner.get(f"{base}/view/Trips/Beach/b.jpg")
    assert await code_of(page) == (404, "file_gone")
    assert f'href="{base}/"' in await page.text()  # the way back stays in the share
    media = await owner.get(f"{base}/media/Trips/Beach/b.jpg",
                            headers={"Accept": "application/json"})
    assert await code_of(media) == (404, "file_gone")


# -- the zip of a shared tag ----------------------------------------------------------


async def test_a_share_with_download_gives_the_tag_as_one_zip(owner: TestClient,
                                                              shared_tree: Path) -> None:
    share = await make_share(owner, "tag=Beach&download=1")
    grid = await (await owner.get(share["url"])).text()
    assert f'id="download" href="{share["url"]}zip"' in grid
    resp = await owner.get(share["url"] + "zip")  # no token
    body = await resp.read()
    assert resp.status == 200 and len(body) == int(resp.headers["Content-Length"])
    assert resp.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="Beach.zip"')
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert {name: archive.read(name) for name in archive.namelist()} == {
            path: (shared_tree / path).read_bytes()
            for path in ("Trips/Beach/a.jpg", "Trips/Beach/b.jpg", "Trips/Beach/clip.mp4")}


async def test_a_share_without_download_has_no_zip(owner: TestClient) -> None:
    share = await make_share(owner, "tag=Beach")
    assert 'id="download"' not in await (await owner.get(share["url"])).text()
    resp = await owner.get(share["url"] + "zip", headers={"Accept": "application/json"})
    assert await code_of(resp) == (404, "not_found")
    closed = await owner.get("/s/" + "y" * 32 + "/zip", headers={"Accept": "application/json"})
    assert await code_of(closed) == (404, "share_not_found")


async def test_revoking_stops_a_zip_download_under_way(
        started: Callable[..., Any], tmp_path: Path,
        settings_for: Callable[..., Settings]) -> None:
    lib = tmp_path / "lib"
    (lib / "Big").mkdir(parents=True)
    with open(lib / "Big/a-large.mp4", "wb") as f:
        f.truncate(64 << 20)  # far larger than any socket buffer, and no disk blocks
    make_tree(lib, {"Big/b.jpg": jpeg_bytes((8, 8))})
    client = await started(settings_for(lib))
    share = await (await client.post("/api/shares?tag=Big&download=1")).json()
    resp = await client.get(share["url"] + "zip")
    got = len(await resp.content.readexactly(1 << 20))
    assert (await client.delete(f"/api/shares/{share['id']}")).status == 204
    with pytest.raises(aiohttp.ClientPayloadError):  # cut short of its Content-Length
        while chunk := await resp.content.read(1 << 20):
            got += len(chunk)
    assert got == 30 + len("Big/a-large.mp4") + (64 << 20) + 16  # that member whole, no more


async def test_unknown_share_ids_count_as_failed_attempts(owner: TestClient) -> None:
    """Ten unknown ids a minute from one address, as ten wrong tokens: it waits (429), on
    share links as elsewhere; the owner elsewhere, with the token, is not that address's
    business here (one test address)."""
    share = await make_share(owner)
    json = {"Accept": "application/json"}
    for n in range(10):
        guess = await owner.get(f"/s/{n:032d}/", headers=json)
        assert await code_of(guess) == (404, "share_not_found")
    refused = await owner.get(share["url"], headers=json)
    assert await code_of(refused) == (429, "too_many_attempts")
    assert int(refused.headers["Retry-After"]) > 0
    assert (await owner.get("/api/tags", headers=OWNER)).status == 429


async def test_a_revoked_link_is_no_guess(owner: TestClient) -> None:
    """A grid left open on a revoked link asks for its thumbnails: not counted."""
    share = await make_share(owner)
    assert (await owner.delete(f"/api/shares/{share['id']}", headers=OWNER)).status == 204
    for _ in range(20):
        thumb = await owner.get(share["url"] + "thumb/Trips/Beach/a.jpg")
        assert await code_of(thumb) == (404, "share_not_found")
    assert (await owner.get("/api/tags", headers=OWNER)).status == 200
