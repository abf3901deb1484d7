"""The scan worker: one process serves every scan, answers by id, and is replaced when it dies."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from mediasrv.children import child_env
from mediasrv.serve.leader import LeaderOptions
from mediasrv.server.keys import COORDINATOR

from .support import make_tree, rescan, worker_command

pytestmark = pytest.mark.process


def read_answer(proc: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    """The worker's lines up to and including its result or error."""
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    while not lines or lines[-1]["type"] not in ("result", "error"):
        line = proc.stdout.readline()
        assert line, "the worker stopped talking"
        lines.append(json.loads(line))
    return lines


def test_the_worker_answers_requests_by_id_and_exits_when_stdin_closes(
    lib_root: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediasrv.scan.process", str(lib_root), str(tmp_path / "cache")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        # Once started (its imports done), it says so: silence after that means stuck.
        assert json.loads(proc.stdout.readline()) == {"type": "ready", "id": None}
        proc.stdin.write(b'{"id": 1, "paths": null}\n')
        proc.stdin.flush()
        first = read_answer(proc)
        assert {m["type"] for m in first[:-1]} == {"progress"}
        assert {m["id"] for m in first} == {1}
        assert first[0] == {"type": "progress", "id": 1, "phase": "walking", "files": 0,
                            "folders": 0}
        assert (first[-1]["status"], first[-1]["generation"], first[-1]["files"]) == (
            "published", 1, 7)
        proc.stdin.write(b'{"id": 2, "paths": ["Music"]}\n')
        proc.stdin.flush()
        second = read_answer(proc)
        assert (second[-1]["type"], second[-1]["id"], second[-1]["status"]) == (
            "result", 2, "unchanged")
        proc.stdin.write(b"not json\n")
        proc.stdin.flush()
        assert read_answer(proc)[-1]["id"] is None
        proc.stdin.write(b'{"id": 3, "paths": "Music"}\n')
        proc.stdin.flush()
        assert read_answer(proc) == [{
            "type": "error", "id": 3,
            "message": "bad request: paths must be a list of strings or null",
        }]
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def test_one_worker_serves_every_scan(client: TestClient, lib_root: Path) -> None:
    coordinator = client.app[COORDINATOR]
    pid = coordinator.process.pid
    for i in range(3):
        make_tree(lib_root, {f"new/{i}.jpg": "x"})
        body = await rescan(client)
        assert (body["status"], body["generation"]) == ("published", i + 2)
        assert coordinator.process.pid == pid


async def test_a_worker_that_died_between_scans_is_replaced(
    client: TestClient, lib_root: Path
) -> None:
    coordinator = client.app[COORDINATOR]
    old = coordinator.process
    old.send_signal(signal.SIGKILL)
    await old.wait()
    make_tree(lib_root, {"new.jpg": "x"})
    body = await rescan(client)
    assert (body["status"], body["generation"], body["error"]) == ("published", 2, None)
    assert coordinator.process.pid != old.pid


async def test_ctrl_c_in_the_terminal_does_not_stop_the_worker(
    client: TestClient, lib_root: Path
) -> None:
    coordinator = client.app[COORDINATOR]
    pid = coordinator.process.pid
    coordinator.process.send_signal(signal.SIGINT)
    make_tree(lib_root, {"new.jpg": "x"})
    assert (await rescan(client))["status"] == "published"
    assert coordinator.process.pid == pid


async def test_shutdown_closes_stdin_and_the_worker_exits_cleanly(
    started, settings_for, lib_root: Path  # type: ignore[no-untyped-def]
) -> None:
    client: TestClient = await started(settings_for(lib_root))
    proc = client.app[COORDINATOR].process
    await client.app[COORDINATOR].close()
    assert proc.returncode == 0


async def test_output_on_stdout_from_inside_a_scan_does_not_break_the_protocol(
    started, settings_for, lib_root: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """A library (FFmpeg, say) that prints to fd 1 writes to the log, not into the answers."""
    command = worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def chatty(*args, **kwargs):\n"
        "    print('hello from python', flush=True)\n"
        "    os.write(1, b'{\"type\": \"result\", \"id\": 99}\\n')\n"
        "    return real_run_scan(*args, **kwargs)\n"
        "job.run_scan = chatty\n",
    )
    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=command)
    )
    make_tree(lib_root, {"new.jpg": "x"})
    body = await rescan(client)
    assert (body["status"], body["generation"], body["files"]) == ("published", 2, 8)


async def test_a_worker_that_cannot_start_fails_the_scan_and_the_next_one_tries_again(
    started, settings_for, lib_root: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    attempts: list[int] = []

    def command(root: Path, cache: Path) -> list[str]:
        attempts.append(1)
        return [sys.executable, "-c", "import sys; sys.exit(3)"]

    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=command)
    )
    first = client.app[COORDINATOR].last
    assert (first.status, first.error) == ("failed", "scan process exited with status 3")
    body = await rescan(client)
    assert (body["status"], body["error"]) == ("failed", "scan process exited with status 3")
    assert len(attempts) == 2


async def test_a_worker_that_talks_nonsense_is_stopped_and_replaced(
    started, settings_for, lib_root: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    flag = tmp_path / "nonsense"
    command = worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def run_scan(root, cache, progress, **kwargs):\n"
        f"    if os.path.exists({str(flag)!r}):\n"
        "        progress({'phase': 'walking', 'files': 'lots'})\n"
        "        time.sleep(60)\n"
        "    return real_run_scan(root, cache, progress, **kwargs)\n"
        "job.run_scan = run_scan\n",
    )
    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=command)
    )
    coordinator = client.app[COORDINATOR]
    pid = coordinator.process.pid
    flag.touch()
    body = await rescan(client)
    assert (body["status"], body["error"]) == ("failed", (
        "scan process sent what could not be read "
        "(ValueError: invalid literal for int() with base 10: 'lots')"))
    flag.unlink()
    make_tree(lib_root, {"new.jpg": "x"})
    assert (await rescan(client))["status"] == "published"
    assert coordinator.process.pid != pid


async def test_an_idle_worker_gives_freed_memory_back(
    started, settings_for, lib_root: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """glibc keeps a finished scan's freed heap unless asked; the worker asks after each request."""
    from mediasrv.scan.process import release_memory

    assert release_memory() is True  # Linux with glibc, where mediasrv runs
    marks = tmp_path / "released"
    command = worker_command(
        tmp_path,
        "real_release = process.release_memory\n"
        "def release_memory():\n"
        f"    with open({str(marks)!r}, 'a') as f:\n"
        "        f.write(str(real_release()) + '\\n')\n"
        "process.release_memory = release_memory\n",
    )
    client: TestClient = await started(
        settings_for(lib_root), LeaderOptions(scan_command=command)
    )
    await rescan(client)
    await rescan(client)  # answered after the worker released what the one before used
    assert marks.read_text().splitlines()[:2] == ["True", "True"]


def _imported(stderr: bytes) -> set[str]:
    """The modules ``python -X importtime`` says were imported."""
    return {
        line.rpartition("|")[2].strip()
        for line in stderr.decode().splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    ("requests", "probers"), [(b"", False), (b'{"id": 1, "paths": null}\n', True)]
)
def test_probing_imports_wait_until_the_first_scan_is_answered(
    lib_root: Path, tmp_path: Path, requests: bytes, probers: bool
) -> None:
    """The first scan of an empty cache publishes names only, and its first part is
    waited for: PyAV and the thumbnailer are imported once it is answered, not before."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mediasrv.scan.process", str(lib_root),
         str(tmp_path / "cache")],
        input=requests, capture_output=True, env=child_env(), check=True,
    )
    assert json.loads(done.stdout.splitlines()[0]) == {"type": "ready", "id": None}
    imported = _imported(done.stderr)
    assert "mediasrv.scan.job" in imported
    later = {"av", "mediasrv.media.thumbs"}
    assert later <= imported if probers else not later & imported
