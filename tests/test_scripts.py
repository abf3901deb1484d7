"""scripts/: every script still starts (``--help``), and benchlib's figures are right.

The quick runs of the benchmarks themselves are in test_bench.py,
test_bench_instances.py and test_soak.py.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
RUNNABLE = sorted(p.name for p in SCRIPTS.glob("*.py") if p.name not in ("benchlib.py",
                                                                         "bench_report.py"))


@pytest.fixture
def benchlib(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(SCRIPTS))  # as `python scripts/x.py` has it
    import benchlib

    return benchlib


@pytest.mark.slow
@pytest.mark.parametrize("script", RUNNABLE)
def test_script_starts_and_explains_itself(script: str) -> None:
    done = subprocess.run([sys.executable, str(SCRIPTS / script), "--help"],
                          capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"usage: {script}")


def test_percentile_is_the_nearest_rank(benchlib: ModuleType) -> None:
    values = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]
    assert [benchlib.percentile(values, p) for p in (0, 10, 50, 55, 90, 99, 100)] == [
        1.0, 1.0, 5.0, 6.0, 9.0, 10.0, 10.0]
    assert math.isnan(benchlib.percentile([], 50))
    assert benchlib.percentile([], 50, empty=0.0) == 0.0


def test_latency_stats_count_failures_and_skip_them(benchlib: ModuleType) -> None:
    records = [(0.0, 0.002, 200), (0.1, 0.004, 200), (0.2, 9.0, 0), (0.3, 0.001, 404)]
    assert benchlib.latency_stats(records) == {
        "requests": 4, "failed": 2, "p50_ms": 2.0, "p99_ms": 4.0, "max_ms": 4.0}
    assert benchlib.median_of([{"a": 1.0, "b": 5.0}, {"a": 3.0, "b": 4.0},
                               {"a": 2.0, "b": 6.0}]) == {"a": 2.0, "b": 5.0}


def test_tag_pages_are_the_same_for_a_seed(benchlib: ModuleType) -> None:
    tags = [{"name": "All", "count": 1000}, {"name": "Trips/é", "count": 50},
            {"name": "Pets", "count": 300}]
    pages = benchlib.tag_pages(tags, random.Random(7), 3)
    assert pages == benchlib.tag_pages(tags, random.Random(7), 3)
    assert all(p.startswith("/api/files?tag=") and p.endswith("&limit=100") for p in pages)
    assert benchlib.q("Trips/é") == "Trips%2F%C3%A9"


def test_empty_library_is_made_once(benchlib: ModuleType, tmp_path: Path) -> None:
    root = benchlib.empty_library(tmp_path / "lib", 30)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    assert len(files) == 30 and {p.stat().st_size for p in files} == {0}
    (root / "mine.txt").write_text("kept")
    assert benchlib.empty_library(root, 500) == root  # a folder with files is taken as it is
    assert len([p for p in root.rglob("*") if p.is_file()]) == 31


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_change_benchmark_runs_small(tmp_path: Path) -> None:
    """bench_change.py at 300 files: the server, the watcher, a delta per change, and the
    watcher's start-up measured in-process (bench_watch.startup) all still work."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_change.py"), "--dir", str(tmp_path / "lib"),
         "--files", "300", "--trials", "1", "--rescans", "1", "--json", str(tmp_path / "c.json")],
        capture_output=True, text=True, timeout=170,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["files"] == 300
    assert [len(result[k]) for k in ("adds", "edits", "deletes", "rescans")] == [1, 1, 1, 1]
    assert result["modes"] == ["delta/paths"]
    assert result["watcher_ready_s"] > 0
    assert [name for name, _ in result["phases"]] == [
        "walking", "comparing", "probing", "building", "publishing"]
    assert "| file created → listed by `/api/files` |" in done.stdout
