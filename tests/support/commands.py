"""Running mediasrv's commands, and scan processes with something run first (to spy or stall)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m mediasrv ARGS…`` to its end, with no MEDIASRV_* but ``env``'s."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASRV_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "mediasrv", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command prints (exit status 2, no traceback)."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def worker_command(
    tmp_path: Path, prelude: str = "", *args: str
) -> Callable[[Path, Path], list[str]]:
    """A scan worker ``command`` for the coordinator: the real worker after ``prelude``.

    ``prelude`` is Python run in the worker process first, e.g. to wrap
    ``job.run_scan`` (the worker looks it up there for every request);
    ``args`` are added to the worker's command line (``--prune-every 0``).
    """
    script = tmp_path / f"worker{len(list(tmp_path.glob('worker*.py')))}.py"
    script.write_text(
        "import os, sys, time\n"
        "from mediasrv.scan import job, process\n"
        f"{prelude}\n"
        "sys.exit(process.main(sys.argv[1:]))\n"
    )
    return lambda root, cache: [sys.executable, str(script), str(root), str(cache), *args]


def recording_command(tmp_path: Path) -> Callable[[Path, Path], list[str]]:
    """A scan worker whose results also say what run_scan was given (``seen``) and a ``mode``.

    (``mode`` stands for a key the scan may report that the server does not know.)
    """
    return worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def run_scan(*args, paths=None, full=False, **kwargs):\n"
        "    result = real_run_scan(*args, paths=paths, full=full, **kwargs)\n"
        "    extra = {'mode': 'delta', 'seen': {'paths': paths, 'full': full}}\n"
        "    result.as_dict = lambda known=result.as_dict(): {**known, **extra}\n"
        "    return result\n"
        "job.run_scan = run_scan\n",
    )


def gated_command(tmp_path: Path, gate: Path) -> Callable[[Path, Path], list[str]]:
    """A scan worker whose every scan waits until ``gate`` exists."""
    return worker_command(
        tmp_path,
        "real_run_scan = job.run_scan\n"
        "def gated(*args, **kwargs):\n"
        f"    while not os.path.exists({str(gate)!r}):\n"
        "        time.sleep(0.01)\n"
        "    return real_run_scan(*args, **kwargs)\n"
        "job.run_scan = gated\n",
    )


def held_walk_command(tmp_path: Path, gate: Path) -> Callable[[Path, Path], list[str]]:
    """A scan worker that publishes a first part as soon as its walk has a folder of files
    (``scan/progressive.py``) and, past its first folder of files, waits until ``gate``
    exists."""
    return worker_command(
        tmp_path,
        "from mediasrv.scan import progressive\n"
        "progressive.FIRST_AFTER_S, progressive.FIRST_FILES = 0, 1\n"
        "real_walk = job.walk\n"
        "def held(*args, **kwargs):\n"
        "    seen = set()\n"
        "    for record in real_walk(*args, **kwargs):\n"
        "        folder = record.path.rpartition('/')[0]\n"
        "        if seen and folder not in seen:\n"
        f"            while not os.path.exists({str(gate)!r}):\n"
        "                time.sleep(0.01)\n"
        "        seen.add(folder)\n"
        "        yield record\n"
        "job.walk = held\n",
    )
