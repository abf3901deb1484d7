"""The README's examples work on the sample library its first command makes.

Every ``curl http://127.0.0.1:8080/…`` line of the README is sent to a server
on ``scripts/make_library.py``'s sample, in the README's order; it must succeed,
find something, and answer what the README shows under it (all but timings).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings

REPO = Path(__file__).resolve().parent.parent
CURL = re.compile(r"^curl (?P<flags>(?:-[\w-]+ (?:POST |PUT |DELETE )?)*)'?(?P<url>http://127\.0\.0\.1:8080/"
                  r"[^'\s]*)'?(?P<comment>.*)$")


@dataclass
class Example:
    method: str
    target: str  # path and query
    status: int
    answer: dict[str, Any] | None  # the answer the README shows, if it shows one


def readme_examples() -> list[Example]:
    text = (REPO / "README.md").read_text()
    found: list[Example] = []
    for block in re.findall(r"```sh\n(.+?)\n```", text, re.S):
        lines = block.splitlines()
        for i, line in enumerate(lines):
            match = CURL.match(line)
            if match is None:
                continue
            shown = ""
            for following in lines[i + 1:]:
                if not following.startswith("# "):
                    break
                shown += following[2:]
            found.append(Example(
                next((m for m in ("POST", "PUT", "DELETE") if f"-X {m}" in match["flags"]),
                     "GET"),
                match["url"].removeprefix("http://127.0.0.1:8080"),
                202 if "# 202" in match["comment"] else 200,
                json.loads(shown) if shown.startswith("{") else None,
            ))
    return found


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readme") / "mediasrv-sample"
    subprocess.run([sys.executable, str(REPO / "scripts/make_library.py"), str(root)],
                   check=True, stdout=subprocess.DEVNULL)
    return root


def test_the_readme_has_examples_of_every_endpoint() -> None:
    targets = [e.target.partition("?")[0] for e in readme_examples()]
    assert set(targets) == {"/api/rescan", "/api/status", "/api/events", "/api/files",
                            "/api/file", "/api/random", "/api/search", "/api/tags",
                            "/api/favourites", "/api/months"}


async def first_event(client: TestClient, target: str) -> dict[str, Any]:
    resp = await client.get(target)
    assert (resp.status, resp.content_type) == (200, "text/event-stream")
    lines: list[str] = []
    while not lines or lines[-1] != "":
        lines.append((await resp.content.readline()).decode().rstrip("\n"))
    resp.close()
    assert lines[0] == "event: status"
    return dict(json.loads(lines[1].removeprefix("data: ")))


VARIES = {"duration_s", "scan_s"}  # what a run on another machine answers otherwise


def without(answer: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in keys}


FINDS = {  # what each example must find in the sample
    "/api/files": lambda body: body["total"] > 0 and body["files"],
    "/api/file": lambda body: body["file"]["path"] == "Trips/2024/Beach/a.jpg",
    "/api/random": lambda body: "/Beach/" in body["file"]["path"],
    "/api/search": lambda body: [f["path"] for f in body["files"]] == [
        "Trips/2024/Beach/sunset[beach family].jpg"],
    "/api/tags": lambda body: len(body["tags"]) > 10,
    "/api/months": lambda body: body["months"] and sum(m["count"] for m in body["months"]) > 1,
}


@pytest.mark.process
@pytest.mark.timeout(120)
async def test_every_example_works_on_the_sample(
    started: Callable[..., Any], settings_for: Callable[..., Settings], sample: Path
) -> None:
    client = await started(settings_for(sample))
    examples = readme_examples()
    assert len(examples) >= 10
    for example in examples:
        if example.target.startswith("/api/events"):
            assert (await first_event(client, example.target))["generation"] == 1
            continue
        resp = await client.request(example.method, example.target)
        body = await resp.json()
        assert resp.status == example.status, (example, body)
        if example.answer is not None:
            assert set(body) == set(example.answer), example
            assert without(body, VARIES) == without(example.answer, VARIES), example
        path = example.target.partition("?")[0]
        assert FINDS.get(path, bool)(body), (example, body)
        await client.app[COORDINATOR].wait_idle()


@pytest.mark.process
async def test_the_sample_has_what_the_readme_promises(
    started: Callable[..., Any], settings_for: Callable[..., Settings], sample: Path
) -> None:
    client = await started(settings_for(sample))
    tags = {t["name"]: t["count"] for t in (await (await client.get("/api/tags")).json())["tags"]}
    tops = [p.name for p in sample.iterdir()]
    assert {"Trips", "Family", "Pets", "Music"} <= set(tops)
    assert all(tags[top] < tags["All"] for top in tops if top in tags)
    # Bracket tags; [beach] and [family] are the folders Beach and Family (one tag per word).
    assert {"beach", "family", "anna", "cat"} <= {name.casefold() for name in tags}
    assert len({name.casefold() for name in tags}) == len(tags)
    files = (await (await client.get("/api/files?tag=All&limit=1000")).json())["files"]
    kinds = {f["kind"] for f in files}
    assert kinds == {"image", "video", "audio", "other"}
    with Image.open(sample / "Trips/2024/Beach/b.jpg") as img:
        exif = img.getexif()
        assert exif.get(0x0112) == 6  # stored sideways
        assert exif.get_ifd(0x8769).get(0x9003) == "2024:07:14 10:05:00"
    shown = {f["path"]: (f["width"], f["height"]) for f in files}
    assert shown["Trips/2024/Beach/b.jpg"] == (480, 640)  # probed as it is shown: upright
    assert max(shown["Trips/2024/Beach/panorama.jpg"]) > 2048  # the viewer previews it
    song = next(f for f in files if f["name"] == "01 Sunset Groove.mp3")
    # 2.61 s of sound; the length mutagen reads counts the encoder's padding too
    assert song["duration"] == pytest.approx(2.66, abs=0.05)
    assert song["audio"] == {"title": "Sunset Groove", "artist": "The Harbour Trio",
                             "album": "Blue Evening", "album_artist": None, "track": 1,
                             "disc": None, "year": 2019, "genre": "Jazz"}
