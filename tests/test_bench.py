"""``scripts/bench.py --quick`` still runs end to end (so the benchmark cannot rot)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.slow
@pytest.mark.timeout(240)  # "under a minute" on an idle machine; CI machines are shared
def test_quick_benchmark_writes_results_table_and_plot(tmp_path: Path) -> None:
    assert shutil.which("wrk"), "the benchmark needs wrk (Debian package wrk)"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results["backends"]) == ["memory", "sqlite"]
    assert results["scan"]["2000"]["files"] == 2000
    for backend in results["backends"].values():
        assert backend["files"] == 2000
        assert backend["generation_files"] and len(backend["generation_files"]) == 1
        assert backend["idle"]["c8"]["files"]["requests"] > 0
    assert len(results["goals"]) == 20
    assert sorted(results["page_cost"]["this"]["ratios"]) == ["grid", "json100", "json100_taken"]
    assert results["page_cost"]["base"]["cases"]["json1"]["rps"] > 0  # --before: main
    assert "### Goals (issues 3 and 23)" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cold scan + build + publish at 2k files" in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_zip_benchmark_runs_and_reports_its_goals() -> None:
    """``scripts/bench_zip.py`` on a small tag: both kinds of download, the goals' table."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_zip.py"), "--mb", "8", "--files", "4",
         "--runs", "1"],
        capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| zip >= 0.9x plain throughput |" in done.stdout
    assert "| 1 | " in done.stdout  # the run's row


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_months_benchmark_quick_runs_and_reports_its_goals() -> None:
    """``scripts/bench_months.py --quick``: 5k files, the table and the goals (issue 22)."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_months.py"), "--quick"],
        capture_output=True, text=True, timeout=110,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 5,000 (" in done.stdout
    assert "| 240, 5,000 |" in done.stdout  # every month, every file counted
    assert "one-file delta's month update at 5,000" in done.stdout


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_metrics_benchmark_quick_runs_and_reports_both_servers(tmp_path: Path) -> None:
    """``scripts/bench_metrics.py --quick``: with and without the request histogram, and the
    middleware's own cost (issue 24; it had stopped running unnoticed when bench.py changed).
    Its library, made in the temp dir, is gone afterwards (each run used to leave one)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_metrics.py"), "--quick"],
        capture_output=True, text=True, timeout=140, env={**os.environ, "TMPDIR": str(temp)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| lookups (`/api/file`) |" in done.stdout
    assert "The middleware alone:" in done.stdout
    assert list(temp.iterdir()) == []


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_cold_benchmark_quick_runs_and_reports_its_goals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``scripts/bench_cold.py --quick`` (issue 23): both libraries beside find and a bare
    walk, the goals' table, and the plot of files browsable over time."""
    plot = tmp_path / "cold.png"
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import benchlib

    # --against: the last commit's code, alternating with this
    before = benchlib.export_tree("HEAD", tmp_path / "before")
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_cold.py"), "--quick", "--plot", str(plot),
         "--plot-files", "2000", "--json", str(tmp_path / "cold.json"), "--cold-runs", "2",
         "--against", str(before)],
        capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 5,000 files, make_library shape | " in done.stdout
    assert "| 2,000 files in 400 folders | " in done.stdout
    assert "| complete <= 2.5x find | " in done.stdout
    assert "| SQLite alone | find + SQLite alone |" in done.stdout
    assert "files, make_library shape, SQLite alone by table (rows and indexes" in done.stdout
    results = json.loads((tmp_path / "cold.json").read_text())
    for name in ("5,000 files, make_library shape", "2,000 files in 400 folders"):
        cold = results[name]
        assert 0 < cold["first_s"] <= cold["complete_s"]
        assert cold["series"][-1][1] == cold["files"]  # every file browsable at the end
        assert [r["status"] for r in cold["rescans"]] == ["unchanged"]
        assert cold["scan_peak_rss_mb"] > 0
        assert cold["sqlite_s"] > 0 and cold["floor_x"] == pytest.approx(1 + cold["sqlite_x"])
        assert len(cold["cold_starts"]) == 2  # --cold-runs: complete is their median
        assert min(c["complete_s"] for c in cold["cold_starts"]) <= cold["complete_s"]
        assert f"{name}, first file / complete of each cold start: " in done.stdout
        theirs = cold["against"]
        assert theirs["tree"] == str(before)
        assert len(theirs["cold_starts"]) == 2 and 0 < theirs["first_s"] <= theirs["complete_s"]
        assert f"| {name} | {before} | " in done.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sqlite_alone_writes_every_row_of_a_generation_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bench_cold.sqlite_alone``, the floor beside the cold starts: it writes every row
    of every table of the generation (and leaves no file behind)."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    import bench_cold

    from mediasrv.index.cachedir import CacheDir
    from mediasrv.scan.job import run_scan

    lib = tmp_path / "lib"
    for i in range(30):
        folder = lib / f"Trip {i % 4}" / f"Day {i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"IMG_{i:03d}[beach].jpg").write_bytes(b"x" * i)
    cache = CacheDir(tmp_path / "cache")
    run_scan(lib, cache)
    generation = (tmp_path / "cache" / "current.db").resolve()
    conn = sqlite3.connect(generation)
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    rows = sum(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    conn.close()
    work = tmp_path / "work"
    work.mkdir()
    alone = bench_cold.sqlite_alone(generation, work)
    assert alone.seconds > 0 and alone.seconds >= sum(alone.by_table.values()) * 0.99
    assert alone.rows == rows and {"files", "name_words", "tag_taken"} <= set(tables)
    assert set(alone.by_table) == {*tables, "commit, statistics"}
    assert list(work.iterdir()) == []


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_details_benchmark_quick_runs_against_main(tmp_path: Path) -> None:
    """``scripts/bench_details.py --quick``: 2,000 JPEGs and 300 songs, main beside this."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_details.py"), "--quick", "--dir",
         str(tmp_path / "lib")],
        capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 2,000 JPEGs 640x480 with EXIF |" in done.stdout
    assert "| 1,000 of 2,000 |" in done.stdout  # half of them name a camera
    assert "| 300 of 300 |" in done.stdout  # every song's tags read
    assert not (tmp_path / "lib").exists()  # the library is deleted afterwards


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_search_benchmark_in_process_times_both_shapes(tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_search.py"), "--in-process", "--files", "2000",
         "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())["results"]
    assert sorted(results) == ["music/this", "places/this"]
    # The places shape: 2,000 files in 400 folders (Day 000000 .. Day 000399).
    assert results["places/this"]["per_query"]["beach"]["found"] == 50
    assert results["places/this"]["per_query"]["day 099999"]["found"] == 0
    assert results["places/this"]["sizes_mb"]["word_folders"] > 0
    assert set(results["music/this"]["delta_ms"]) == {"last", "first"}
