"""What the scripts in scripts/ share: libraries, servers, /proc figures, percentiles, wrk.

Scripts run as ``python scripts/NAME.py``, so this folder is on ``sys.path`` and
they ``import benchlib``. Nothing here imports mediasrv: several scripts
measure another commit beside this checkout, and their servers and child
processes get that tree through ``child_env(tree)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import make_library

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
CHURN = "bench-churn.jpg"  # toggled before a rescan, so that every rescan publishes


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def command_line(script: str, argv: list[str] | None) -> str:
    """How the script was run, for the report: ``python scripts/SCRIPT ARGS``."""
    return " ".join(["python", f"scripts/{script}", *(sys.argv[1:] if argv is None else argv)])


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_at_start": os.getloadavg()}


# -- figures ------------------------------------------------------------------------

def percentile(values: list[float], pct: float, empty: float = math.nan) -> float:
    """The nearest-rank percentile: the smallest value with ``pct`` % of them at or below it."""
    if not values:
        return empty
    ordered = sorted(values)
    rank = math.ceil(pct / 100 * len(ordered))
    return ordered[max(0, min(len(ordered) - 1, rank - 1))]


def latency_stats(records: list[Any]) -> dict[str, float]:
    """Requests, failures and latency of (start, seconds, status, ...) records; 200 is success."""
    ok = [r[1] for r in records if r[2] == 200]
    return {
        "requests": len(records),
        "failed": sum(1 for r in records if r[2] != 200),
        "p50_ms": 1000 * percentile(ok, 50),
        "p99_ms": 1000 * percentile(ok, 99),
        "max_ms": 1000 * max(ok, default=math.nan),
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over runs of the same measurement."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


# -- processes, from /proc -----------------------------------------------------------

def proc_stats(pid: int) -> dict[str, float]:
    """RSS now and at its peak (MB), threads and open fds of a process."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return {
        "rss_mb": int(fields["VmRSS"][0]) / 1024,
        "peak_rss_mb": int(fields["VmHWM"][0]) / 1024,
        "threads": int(fields["Threads"][0]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU time of ``pid`` (user + system), with its waited-for children's if ``children``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:
        return math.nan
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


# -- libraries and media ----------------------------------------------------------------

def empty_library(root: Path, files: int) -> Path:
    """``files`` zero-byte files under ``root`` (``make_library.py --empty``); a folder
    that already holds something is taken as it is."""
    if not (root.is_dir() and any(root.iterdir())):
        print(f"making {files:,} empty files under {root} …", file=sys.stderr)
        make_library.make(root, files, empty=True)
    return root


def library(work: Path, files: int) -> Path:
    """``work/lib-FILES``, made once and reused (a marker says it is complete)."""
    root = work / f"lib-{files}"
    done = root / ".bench-complete"  # hidden: the walk passes over it
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        log(f"generating a library of {files} files in {root}")
        empty_library(root, files)
        done.write_text("")
    (root / CHURN).unlink(missing_ok=True)
    return root


def toggle_churn(root: Path) -> None:
    """Create the churn file, or delete it: a change for the next rescan to find."""
    churn = root / CHURN
    if churn.exists():
        churn.unlink()
    else:
        churn.write_bytes(b"")


def camera_jpeg(exif_taken: str | None = None) -> bytes:
    """A 6000x4000 JPEG with detail everywhere (noise over a gradient, quality 92: ~13 MB),
    as a camera's; with an EXIF capture date ("2024:07:14 10:00:00") if ``exif_taken``."""
    from PIL import Image

    size = (6000, 4000)
    noise = Image.effect_noise(size, 40)
    gradient = Image.linear_gradient("L").resize(size)
    picture = Image.merge("RGB", (noise, gradient, Image.blend(noise, gradient, 0.5)))
    extra: dict[str, Any] = {}
    if exif_taken is not None:
        exif = Image.Exif()
        exif[0x0110] = "bench camera"
        exif.get_ifd(0x8769)[0x9003] = exif_taken
        extra["exif"] = exif.tobytes()
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92, **extra)
    return out.getvalue()


# -- servers -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(tree: Path | None = None) -> dict[str, str]:
    """This environment for a child that runs the mediasrv of ``tree`` (this checkout by
    default), without MEDIASRV_* settings, which would change what is measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASRV_")}
    env["PYTHONPATH"] = str(tree or REPO)
    return env


def indexed(status: dict[str, Any]) -> bool:
    """A server is ready to measure: a generation served, no scan running or queued."""
    return bool(status["generation"]) and not status["scanning"] and not status.get("queued")


def get_json(base: str, endpoint: str, **params: Any) -> Any:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    with urllib.request.urlopen(base + endpoint + query, timeout=120) as resp:
        return json.loads(resp.read())


@dataclass
class Served:
    """A server in a child process, on 127.0.0.1 at ``base``."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path | None = None

    def _exited(self) -> RuntimeError:
        said = self.log.read_text(errors="replace")[-2000:] if self.log else ""
        return RuntimeError(f"the server exited with {self.proc.returncode}\n{said}")

    def wait(self, check: Callable[[dict[str, Any]], bool] = indexed, what: str = "an index",
             timeout: float = 900.0) -> dict[str, Any]:
        """Poll /api/status until ``check`` holds; that status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._exited()
            with contextlib.suppress(OSError, ValueError):
                status = get_json(self.base, "/api/status")
                if check(status):
                    return dict(status)
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting {timeout:.0f} s for {what}")

    async def await_status(self, session: aiohttp.ClientSession,
                           check: Callable[[dict[str, Any]], bool] = indexed,
                           what: str = "an index", timeout: float = 900.0) -> dict[str, Any]:
        """``wait``, for a script whose event loop has other work meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._exited()
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(self.base + "/api/status") as resp:
                    status = dict(await resp.json())
                if check(status):
                    return status
            await asyncio.sleep(0.05)
        raise RuntimeError(f"timed out waiting {timeout:.0f} s for {what}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it has not ended within ``timeout``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def launch(argv: list[str], port: int, *, tree: Path | None = None, log: Path | None = None,
           nice: int = 0) -> Served:
    """Start ``argv`` (a server that will listen on ``port``; paths in it absolute) with
    ``child_env(tree)``, in ``tree`` (``python -m`` looks in its working directory first);
    its output goes to ``log`` (or this script's stderr), at ``nice``."""
    out = open(log, "wb") if log else None  # noqa: SIM115 (closed once the child has it)
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out or sys.stderr, stderr=out or sys.stderr,
            env=child_env(tree), cwd=str(tree or REPO),
            preexec_fn=(lambda: os.nice(nice)) if nice else None)
    finally:
        if out:
            out.close()
    return Served(proc, f"http://127.0.0.1:{port}", log)


def serve(root: Path, cache: Path, *options: str, tree: Path | None = None,
          log: Path | None = None, nice: int = 0) -> Served:
    """``mediasrv serve ROOT --cache-dir CACHE --port (free) OPTIONS`` (on 127.0.0.1, the
    default host)."""
    port = free_port()
    return launch([sys.executable, "-m", "mediasrv", "serve", str(root.resolve()),
                   "--cache-dir", str(cache.resolve()), "--port", str(port), *options], port,
                  tree=tree, log=log, nice=nice)


def serve_indexed(root: Path, cache: Path, *, tree: Path | None = None,
                  timeout: float = 600) -> Served:
    """A fresh quiet ``serve`` (no watcher, no interval rescans, warnings only) of
    ``root``, once it has an index; its log beside ``cache``. Stopped if it gets none."""
    shutil.rmtree(cache, ignore_errors=True)
    server = serve(root, cache, "--no-watch", "--rescan-interval", "0", "--log-level",
                   "warning", tree=tree, log=cache.with_suffix(".log"))
    try:
        server.wait(what="an index", timeout=timeout)
    except RuntimeError:
        server.stop()
        raise
    return server


# -- load --------------------------------------------------------------------------------

def q(text: str) -> str:
    """A path or tag as a URL query value (names that are not UTF-8 included)."""
    return quote(text.encode("utf-8", "surrogateescape"), safe="")


def tag_pages(tags: list[dict[str, Any]], rng: random.Random, count: int) -> list[str]:
    """``count`` pages of 100 at random offsets of All and up to 8 other tags (from
    /api/tags' ``tags``): the load's page requests, the same for a given ``rng``."""
    some = [tags[0], *rng.sample(tags[1:], min(8, len(tags) - 1))]
    pages = []
    for _ in range(count):
        tag = rng.choice(some)
        offset = rng.randrange(max(tag["count"] - 100, 1))
        pages.append(f"/api/files?tag={q(tag['name'])}&offset={offset}&limit=100")
    return pages


WRK_SCRIPT = """
local urls = {}
for line in io.lines(os.getenv("BENCH_URLS")) do urls[#urls + 1] = line end
local i = 0
request = function()
  i = i % #urls + 1
  return wrk.format("GET", urls[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, '
    .. '"p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(base: str, paths: list[str], seconds: int, connections: int, work: Path
        ) -> dict[str, float]:
    """Throughput with wrk (C, one thread; the load generator is never the limit):
    ``paths`` in turn for ``seconds`` over ``connections`` connections."""
    (work / "wrk-urls.txt").write_text("\n".join(paths) + "\n")
    (work / "bench.lua").write_text(WRK_SCRIPT)
    env = {**os.environ, "BENCH_URLS": str(work / "wrk-urls.txt")}
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
                          str(work / "bench.lua"), base], capture_output=True, text=True,
                         env=env, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON "):])
    return {"requests": raw["requests"], "failed": raw["errors"],
            "rps": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "max_ms": raw["max_us"] / 1000}


# -- other commits, measured beside this checkout --------------------------------------

def export_tree(rev: str, dest: Path) -> Path:
    """The files of commit ``rev`` of this repository at ``dest`` (made once, reused)."""
    if not dest.exists():
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True,
                                 capture_output=True).stdout
        dest.mkdir(parents=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def alternating(runs: int) -> Iterator[tuple[int, str]]:
    """(run, "base" or "this"), the two trees in turn, the first of each pair alternating,
    so that a drift in the machine's load weighs on both alike."""
    for run in range(runs):
        for name in (("base", "this") if run % 2 == 0 else ("this", "base")):
            yield run, name


def pyplot() -> Any:
    """matplotlib.pyplot, drawing to files only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
