"""``scripts/bench_instances.py --quick`` and ``scripts/bench_workers.py --quick`` still run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_five_instances_quick(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_instances.py"), "--quick", "--seconds", "1",
         "--rounds", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=230,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["files"] == 2000
    assert results["failed_total"] == 0
    assert results["went_back"] == 0
    assert set(results["follower_generations"]) == {results["leader_generation"]}
    assert results["lag_s"]["measured"] == results["lag_s"]["expected"] > 0
    assert results["idle"]["requests"] > 0 and results["rescans"]["requests"] > 0
    assert len(results["goals"]) == 7
    assert (tmp_path / "instances.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| goal | target | measured | met |" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_workers_quick(tmp_path: Path) -> None:
    assert shutil.which("wrk"), "the benchmark needs wrk (Debian package wrk)"
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench_workers.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=230,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "workers.json").read_text())
    assert [r["workers"] for r in results["runs"]] == [1, 2]
    assert [r["processes"] for r in results["runs"]] == [1, 2]
    for run in results["runs"]:
        assert run["files"]["requests"] > 0 and run["files"]["failed"] == 0
        assert len(run["file"]["cpu_s_per_process"][-1]) == run["processes"]
