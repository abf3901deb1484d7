"""GET /metrics: the Prometheus text format, read from the server's state at scrape time."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import LEADER, LIBRARY

from .conftest import make_app, make_tree
from .test_follow import Leader, serving

DASHBOARD = Path(__file__).parent.parent / "scripts" / "grafana" / "mediasrv.json"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: TestClient, **headers: str) -> Samples:
    resp = await client.get("/metrics", headers=headers)
    assert (resp.status, resp.content_type) == (200, "text/plain")
    text = await resp.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples: Samples, route: str, method: str = "GET", status: str = "200") -> float:
    return value(samples, "mediasrv_http_request_duration_seconds_count",
                 route=route, method=method, status=status)


async def test_a_publishing_rescan_moves_generation_scans_and_their_histogram(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await started(settings_for(library))
    before = await scrape(client)
    assert (value(before, "mediasrv_generation"), value(before, "mediasrv_files")) == (1, 7)
    first = {k: v for k, v in before.items() if k[0] == "mediasrv_scans_total" and v}
    assert list(first.values()) == [1.0]
    assert value(before, "mediasrv_scan_duration_seconds_count") == 1
    make_tree(library, {"new/a.txt": "a"})
    body = await (await client.post("/api/rescan?wait=1")).json()
    assert (body["status"], body["generation"], body["mode"]) == ("published", 2, "delta")
    after = await scrape(client)
    assert (value(after, "mediasrv_generation"), value(after, "mediasrv_files")) == (2, 8)
    assert value(after, "mediasrv_scans_total", mode="delta", status="published") == \
        value(before, "mediasrv_scans_total", mode="delta", status="published") + 1
    assert value(after, "mediasrv_scan_duration_seconds_count") == 2
    assert value(after, "mediasrv_scan_duration_seconds_sum") > \
        value(before, "mediasrv_scan_duration_seconds_sum")
    assert value(after, "mediasrv_swaps_total") == value(before, "mediasrv_swaps_total") + 1
    assert (value(after, "mediasrv_leases"), value(after, "mediasrv_scanning")) == (0, 0)


async def test_n_requests_count_n_more_by_route_pattern_not_path(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await started(settings_for(library))
    before = await scrape(client)
    for _ in range(7):
        assert (await client.get("/api/tags")).status == 200
    for name in ("Music/song.mp3", "notes.txt", "Trips/2024/Beach/img1.jpg"):
        assert (await client.get(f"/media/{name}")).status == 200
    assert (await client.get("/media/nowhere.jpg")).status == 404
    assert (await client.get("/no/such/page")).status == 404
    assert (await client.request("PROPFIND", "/api/tags")).status == 405
    after = await scrape(client)
    assert requests(after, "/api/tags") - requests(before, "/api/tags") == 7
    assert requests(after, "/media/{path}") - requests(before, "/media/{path}") == 3
    assert requests(after, "/media/{path}", status="404") == 1
    assert requests(after, "unmatched", status="404") == 1
    assert requests(after, "unmatched", method="other", status="405") == 1
    # The scrape before this one is counted too; no label ever holds a file's path.
    assert requests(after, "/metrics") == 1
    assert not [k for k in after if "notes.txt" in str(k) or "nowhere" in str(k)]


async def test_leases_on_a_retired_generation_are_counted(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await started(settings_for(library))
    async with client.app[LIBRARY].snapshot() as held:
        make_tree(library, {"new/a.txt": "a"})
        assert (await (await client.post("/api/rescan?wait=1")).json())["generation"] == 2
        samples = await scrape(client)
        assert (held.generation, value(samples, "mediasrv_leases")) == (1, 1)
    assert value(await scrape(client), "mediasrv_leases") == 0


async def test_the_watcher_is_up_while_it_watches(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    client = await started(settings_for(library, watch=True))
    while client.app[LEADER].watcher.status["state"] != "watching":  # type: ignore[union-attr]
        await asyncio.sleep(0.02)
    assert value(await scrape(client), "mediasrv_watcher_up") == 1


async def test_without_a_watcher_there_is_no_watcher_metric(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    samples = await scrape(await started(settings_for(library)))
    assert [k for k in samples if k[0] == "mediasrv_watcher_up"] == []


async def test_token_mode_refuses_metrics_without_the_token(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    token = "metrics-token-0123456789"
    client = await started(settings_for(library, token=token))
    resp = await client.get("/metrics", headers={"Accept": "text/plain"})
    assert (resp.status, (await resp.json())["error"]["code"]) == (401, "unauthorized")
    samples = await scrape(client, Authorization=f"Bearer {token}")
    assert value(samples, "mediasrv_generation") == 1


async def test_two_apps_in_one_process_keep_their_own_numbers(  # type: ignore[no-untyped-def]
    aiohttp_client, settings_for, library: Path, tmp_path: Path
) -> None:
    other = make_tree(tmp_path / "other", {"a.txt": "a"})
    one = await aiohttp_client(make_app(settings_for(library), LeaderOptions(startup_scan=False)))
    two = await aiohttp_client(make_app(settings_for(other, cache_dir=tmp_path / "c2"),
                                        LeaderOptions(startup_scan=False)))
    for _ in range(3):
        await one.get("/api/status")
    assert requests(await scrape(one), "/api/status") == 3
    assert requests(await scrape(two), "/api/status") == 0


@pytest.mark.parametrize("state", ["sqlite", "memory"])
async def test_the_process_and_platform_collectors_answer(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path, state: str
) -> None:
    samples = await scrape(await started(settings_for(library, state=state)))
    assert value(samples, "process_open_fds") > 0
    assert [k for k in samples if k[0] == "python_info"] != []


async def test_a_follower_says_its_lag_and_counts_its_swaps(  # type: ignore[no-untyped-def]
    started, settings_for, tmp_path: Path
) -> None:
    leader = Leader(tmp_path)
    await leader.publish()
    client = await started(settings_for(leader.root, follow=True))
    first = await scrape(client)
    assert (value(first, "mediasrv_generation"), value(first, "mediasrv_swaps_total")) == (1, 1)
    assert ("mediasrv_follower_lag_seconds", frozenset()) in first
    assert value(first, "mediasrv_follower_lag_seconds") == 0.0  # caught up
    assert await leader.publish() == 2
    await serving(client, 2)
    second = await scrape(client)
    assert (value(second, "mediasrv_generation"), value(second, "mediasrv_swaps_total")) == (2, 2)
    assert [k for k in second if k[0] == "mediasrv_scans_total"] == []  # a follower never scans


async def test_the_grafana_dashboard_asks_only_for_metrics_that_exist(  # type: ignore[no-untyped-def]
    started, settings_for, library: Path
) -> None:
    """scripts/grafana/mediasrv.json: every metric its queries name is one a server exports."""
    dashboard = json.loads(DASHBOARD.read_text())
    asked = {name for panel in dashboard["panels"] for target in panel["targets"]
             for name in re.findall(r"\b((?:mediasrv|process)_\w+)", target["expr"])}
    client = await started(settings_for(library, watch=True))
    await client.get("/api/tags")  # a request, so that the request histogram has a series
    exported = {name for name, _ in await scrape(client)}
    # Only a follower says its lag (test_a_follower_says_its_lag_and_counts_its_swaps).
    assert asked - exported == {"mediasrv_follower_lag_seconds"}
    assert len(asked) == 12
