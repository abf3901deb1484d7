"""The timeline's months: counted at build time, kept by deltas, answered by /api/months."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from mediasrv.index import months
from mediasrv.index.cachedir import CacheDir
from mediasrv.scan.job import run_scan
from mediasrv.settings import Settings

from .support import make_tree, rescan

ZONES = ["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"]


def local(year: int, month: int, day: int = 1, hour: int = 0, minute: int = 0) -> int:
    """ns of a local wall-clock time."""
    return int(time.mktime((year, month, day, hour, minute, 0, 0, 0, -1))) * 1_000_000_000


# -- counting ------------------------------------------------------------------------

NS = st.integers(-2_000_000_000, 7_000_000_000).map(lambda s: s * 1_000_000_000 + 123)


@settings(max_examples=60, deadline=None)
@given(st.lists(NS, max_size=60), st.sampled_from(ZONES))
def test_counting_between_month_starts_equals_asking_each_file(times: list[int],
                                                               name: str) -> None:
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        keys = sorted((t, i) for i, t in enumerate(times))
        expected: dict[int, int] = {}
        for t, _ in keys:
            expected[months.month_of(t)] = expected.get(months.month_of(t), 0) + 1
        assert months.counts(keys) == expected
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_month_starts_at_local_midnight(local_zone: Callable[[str], None]) -> None:
    local_zone("America/New_York")
    first = local(2023, 12)
    keys = [(first - 1, 1), (first, 2), (local(2024, 1) - 1, 3), (local(2024, 1), 4)]
    assert months.counts(keys) == {202311: 1, 202312: 2, 202401: 1}
    # 05:00 UTC on 1 December is midnight in New York, still November in Honolulu
    local_zone("Pacific/Honolulu")
    assert months.counts(keys) == {202311: 2, 202312: 2}


def test_offsets_add_up_the_later_months() -> None:
    assert months.with_offsets([(202312, 3), (202311, 1), (201905, 2)]) == [
        {"month": "2023-12", "count": 3, "offset": 0},
        {"month": "2023-11", "count": 1, "offset": 3},
        {"month": "2019-05", "count": 2, "offset": 4},
    ]
    assert months.with_offsets([]) == []


# -- through the API, both backends -------------------------------------------------

# name -> local time: none of these files states when it was taken, so mtime counts.
DATES = {
    "Trip/a.jpg": (2023, 12, 31, 23, 59), "Trip/b.jpg": (2023, 12, 1, 0, 0),
    "Trip/c.jpg": (2023, 11, 30, 23, 59), "Trip/d[beach].jpg": (2019, 5, 4, 12, 0),
    "Home/e.jpg": (2024, 1, 1, 0, 0), "Home/f.jpg": (2019, 5, 20, 8, 0),
}


@pytest.fixture
def dated_library(tmp_path: Path, local_zone: Callable[[str], None]) -> Path:
    local_zone("Europe/Paris")
    root = make_tree(tmp_path / "lib", dict.fromkeys(DATES, b"x"))
    for rel, when in DATES.items():
        seconds = local(*when) // 1_000_000_000
        os.utime(root / rel, (seconds, seconds))
    return root


@pytest.fixture(params=["sqlite", "memory"])
async def client(request: pytest.FixtureRequest, started: Callable[..., Any],
                 dated_library: Path, settings_for: Callable[..., Settings]) -> TestClient:
    return await started(settings_for(dated_library, state=request.param))


async def months_of(client: TestClient, tag: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/months", params={"tag": tag})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["tag"] == tag and isinstance(body["generation"], int)
    return body["months"]


async def test_a_tags_months_newest_first_with_offsets(client: TestClient) -> None:
    assert await months_of(client, "All") == [
        {"month": "2024-01", "count": 1, "offset": 0},
        {"month": "2023-12", "count": 2, "offset": 1},
        {"month": "2023-11", "count": 1, "offset": 3},
        {"month": "2019-05", "count": 2, "offset": 4},
    ]
    assert await months_of(client, "Trip") == [
        {"month": "2023-12", "count": 2, "offset": 0},
        {"month": "2023-11", "count": 1, "offset": 2},
        {"month": "2019-05", "count": 1, "offset": 3},
    ]
    assert await months_of(client, "beach") == [{"month": "2019-05", "count": 1, "offset": 0}]


async def test_each_offset_starts_its_month_in_date_order(client: TestClient) -> None:
    for tag in ["All", "Trip", "Home", "beach"]:
        resp = await client.get("/api/files", params={"tag": tag, "sort": "taken",
                                                      "limit": "100"})
        newest_first = (await resp.json())["files"]
        labels = [datetime.fromtimestamp(f["mtime_ns"] / 1e9).strftime("%Y-%m")
                  for f in newest_first]
        found = await months_of(client, tag)
        assert sum(m["count"] for m in found) == len(newest_first)
        for m in found:
            at = m["offset"]
            assert labels[at:at + m["count"]] == [m["month"]] * m["count"], tag
            assert at == 0 or labels[at - 1] > m["month"]


async def test_months_follow_a_rescan(client: TestClient, dated_library: Path) -> None:
    (dated_library / "Trip" / "c.jpg").unlink()
    new = dated_library / "Trip" / "g.jpg"
    new.write_bytes(b"y")
    seconds = local(2025, 3, 15) // 1_000_000_000
    os.utime(new, (seconds, seconds))
    await rescan(client)
    assert await months_of(client, "Trip") == [
        {"month": "2025-03", "count": 1, "offset": 0},
        {"month": "2023-12", "count": 2, "offset": 1},
        {"month": "2019-05", "count": 1, "offset": 3},
    ]


async def test_the_favourites_tag_has_months(client: TestClient) -> None:
    assert await months_of(client, "Favourites") == []
    for path in ["Trip/a.jpg", "Home/f.jpg", "Trip/b.jpg"]:
        assert (await client.put("/api/favourites", params={"path": path})).status in (200, 204)
    assert await months_of(client, "Favourites") == [
        {"month": "2023-12", "count": 2, "offset": 0},
        {"month": "2019-05", "count": 1, "offset": 2},
    ]


@pytest.mark.parametrize("query, status, code", [
    ("?tag=No%20such%20tag", 404, "unknown_tag"),
    ("?tag=a&tag=b", 400, "bad_parameter"),
])
async def test_bad_questions(client: TestClient, query: str, status: int, code: str) -> None:
    resp = await client.get(f"/api/months{query}")
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_an_empty_library_has_no_months(started: Callable[..., Any], tmp_path: Path,
                                              settings_for: Callable[..., Settings]) -> None:
    client = await started(settings_for(make_tree(tmp_path / "empty", {})))
    assert await months_of(client, "All") == []


# -- the index ----------------------------------------------------------------------

def test_the_months_are_read_by_their_primary_key(dated_library: Path, tmp_path: Path) -> None:
    cache = CacheDir(tmp_path / "cache")
    run_scan(dated_library, cache)
    conn = sqlite3.connect(cache.current)
    from mediasrv.snapshot import sqlite as backend

    plan = " ".join(r[-1] for r in conn.execute(
        f"EXPLAIN QUERY PLAN {backend._MONTHS}", {"tag_key": "all"}))
    assert "SEARCH m USING PRIMARY KEY (tag_id=?)" in plan, plan
    assert "TEMP B-TREE" not in plan and "files" not in plan, plan
    assert conn.execute('SELECT tag, month, count, "offset" FROM tag_months_v'
                        " WHERE tag = 'Trip'").fetchall() == [
        ("Trip", "2023-12", 2, None), ("Trip", "2023-11", 1, 2), ("Trip", "2019-05", 1, 3)]


def test_a_delta_in_another_time_zone_builds_in_full(
    dated_library: Path, tmp_path: Path, local_zone: Callable[[str], None],
) -> None:
    cache = CacheDir(tmp_path / "cache")
    run_scan(dated_library, cache)
    (dated_library / "Home" / "h.jpg").write_bytes(b"z")
    local_zone("America/New_York")
    result = run_scan(dated_library, cache, paths=["Home/h.jpg"])
    assert result.mode == "full"
    conn = sqlite3.connect(cache.current)
    # Paris' 1 January 00:00 is New York's 31 December: the month moved with the zone
    assert conn.execute("SELECT month, count FROM tag_months_v WHERE tag = 'Home'"
                        " AND month < '2025'").fetchall() == [("2023-12", 1), ("2019-05", 1)]
