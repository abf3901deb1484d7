#!/usr/bin/env python3
"""Soak: run a real ``mediasrv serve`` for N minutes under everything at once, and record it.

    python scripts/soak.py                      # 10 minutes, results in soak-out/
    python scripts/soak.py --minutes 0.5        # the 30-second version (tests/test_soak.py)

For the whole run, at the same time, against one server (watcher on, as
``mediasrv serve`` runs by default; 127.0.0.1 only):

- ``--clients`` (8) closed-loop clients mixing pages, JSON, ``/media`` ranges
  and thumbnails, on files taken from the live index;
- file churn in ``churn/`` of the library: a create, modify, rename or delete
  every ``--churn-ms`` (100) ms, of files and of whole folders;
- back-to-back rescans (``POST /api/rescan?wait=1``, whole library and
  ``?path=`` in turn);
- ``--sse`` (50) event-stream clients that connect, read a while and drop.

Every second it samples the server process: RSS, open fds, threads; the
generation files on disk against the ones the server has open (``live``), and
the thumbnail cache's size. A request *fails* if it raises (connection error,
timeout) or answers a status other than 200/206/304 or a 404 that the churn
explains (a JSON ``unknown_tag``/``unknown_file``/``file_gone``, or an HTML
page). At the end the server's log is searched for tracebacks and ERROR lines.

Goals (issue 14): 0 failed requests, 0 tracebacks in the log, RSS / fds /
threads flat (the median of the last tenth of the run within 10 % of the
median of the tenth after warm-up, the first fifth of the run), at most the
live generations on disk (live: open by the server, or current.db's target):
at the end, when all is quiet, no other generation file; meanwhile none
older than the generation served (``/api/status``, asked before each sample:
a newer one is a publish on its way in, see ``leaked``).
Writes ``results.json``, ``timeline.json``, ``results.md`` and ``soak.png``
to ``--out``; exits 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import make_library
from benchlib import command_line, percentile, proc_stats, pyplot, q, serve

EXPECTED_404 = {"unknown_tag", "unknown_file", "file_gone"}
FLAT = 0.10  # RSS, fds, threads: end within 10 % of the start (after warm-up)
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)


@dataclass
class Record:
    """What the run saw; written to results.json and timeline.json."""

    started: float = field(default_factory=time.monotonic)
    # (seconds into the run, kind, milliseconds, status)
    requests: list[tuple[float, str, float, int]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    rescans: list[dict[str, Any]] = field(default_factory=list)
    churn: dict[str, int] = field(default_factory=dict)
    sse: dict[str, int] = field(default_factory=lambda: {"connections": 0, "events": 0,
                                                          "errors": 0})

    def now(self) -> float:
        return round(time.monotonic() - self.started, 3)

    def fail(self, kind: str, url: str, why: str) -> None:
        self.failures.append({"t": self.now(), "kind": kind, "url": url[:200], "why": why[:300]})


# -- the server -----------------------------------------------------------------


def open_generations(pid: int) -> set[str]:
    """Names of the generation files ``pid`` has open (its leases, as the kernel sees them)."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            name = os.path.basename(target).removesuffix(" (deleted)")
            if name.startswith("gen-") and name.endswith(".db") and "(deleted)" not in target:
                found.add(name)
    return found


def tree_size(folder: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                size += os.stat(os.path.join(dirpath, name)).st_size
                files += 1
    return files, size


# -- the load -------------------------------------------------------------------


class Files:
    """Paths and tags of the live index, refreshed now and then."""

    def __init__(self) -> None:
        self.tags: list[str] = ["All"]
        self.files: list[dict[str, Any]] = []

    async def refresh(self, http: aiohttp.ClientSession, url: str) -> None:
        async with http.get(f"{url}/api/tags") as resp:
            self.tags = [t["name"] for t in (await resp.json())["tags"]] or ["All"]
        total = (await (await http.get(f"{url}/api/files?limit=1")).json())["total"]
        offset = random.randrange(max(1, total - 1000))
        found = []
        # A random stretch of the library, plus the real media (their thumbnails are
        # real work: from the first minute on, not whenever a stretch happens on them).
        for query in (f"limit=1000&offset={offset}", "tag=Real&limit=1000"):
            async with http.get(f"{url}/api/files?{query}") as resp:
                if resp.status == 200:
                    found += (await resp.json())["files"]
        self.files = found or self.files


def pick_request(rng: random.Random, files: Files) -> tuple[str, str, dict[str, str]]:
    """(kind, path and query, headers) of one request of the mix."""
    tag = rng.choice(files.tags)
    file = rng.choice(files.files) if files.files else None
    roll = rng.random()
    if roll < 0.15:
        return "page", rng.choice(["/", f"/tag/{q(tag)}", f"/search?q={q(tag[:3])}"] + (
            [f"/view/All/{file['url'].removeprefix('/media/')}"] if file else [])), {}
    if roll < 0.55 or file is None:
        return "json", rng.choice([
            f"/api/files?tag={q(tag)}&offset={rng.randrange(50)}&limit=100",
            f"/api/random?tag={q(tag)}", "/api/tags", "/api/status",
            f"/api/search?q={q(tag[:4])}&limit=50",
        ] + ([f"/api/file?path={q(file['path'])}&tag=All"] if file else [])), {}
    if roll < 0.8:
        if not file["size"]:  # no byte of an empty file can be asked for (that is a 416)
            return "media", file["url"], {}
        start = rng.randrange(file["size"])
        return "media", file["url"], {"Range": f"bytes={start}-{start + 65535}"}
    return "thumb", file["thumb_url"], {}


async def client(http: aiohttp.ClientSession, url: str, files: Files, rec: Record,
                 until: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        kind, path, headers = pick_request(rng, files)
        began = time.perf_counter()
        try:
            async with http.get(url + path, headers=headers) as resp:
                body = await resp.read()
                status = resp.status
                if status == 404 and kind != "page":
                    code = json.loads(body).get("error", {}).get("code")
                    if code not in EXPECTED_404:
                        rec.fail(kind, path, f"404 {code}")
                elif status not in (200, 206, 304, 404):
                    rec.fail(kind, path, f"{status} {body[:200]!r}")
        except Exception as exc:  # connection reset, timeout, bad JSON: a failed request
            status = 0
            rec.fail(kind, path, f"{type(exc).__name__}: {exc}")
        rec.requests.append((rec.now(), kind, round((time.perf_counter() - began) * 1000, 2),
                             status))


async def churn(root: Path, rec: Record, until: float, every: float, seed: int) -> None:
    """Create, modify, rename and delete files and folders under ``root`` (kept small)."""
    rng = random.Random(seed)
    root.mkdir(exist_ok=True)
    jpeg = make_library.photo_bytes(make_library.Item("churn.jpg", "photo", size=(320, 240)), rng)
    counts = rec.churn
    n = 0
    while time.monotonic() < until:
        await asyncio.sleep(every * rng.uniform(0.5, 1.5))
        n += 1
        folders = [p for p in root.iterdir() if p.is_dir()]
        files = [p for d in folders for p in d.iterdir() if p.is_file()]
        op = rng.choice(["create", "create", "modify", "rename", "delete", "mkdir", "mvdir",
                         "rmdir"])
        try:
            if op == "mkdir" or not folders:
                if len(folders) < 20:
                    (root / f"f{n}").mkdir()
                op = "mkdir"
            elif op == "create" or not files:
                if len(files) < 300:
                    (rng.choice(folders) / f"c{n}[churn].jpg").write_bytes(jpeg)
                op = "create"
            elif op == "modify":
                with open(rng.choice(files), "ab") as f:
                    f.write(b"\0" * rng.randrange(1, 100))
            elif op == "rename":
                src = rng.choice(files)
                src.rename(rng.choice(folders) / f"r{n}.jpg")
            elif op == "delete":
                rng.choice(files).unlink()
            elif op == "mvdir":
                rng.choice(folders).rename(root / f"m{n}")
            elif op == "rmdir" and len(folders) > 3:
                shutil.rmtree(rng.choice(folders))
        except FileNotFoundError:
            continue
        counts[op] = counts.get(op, 0) + 1


async def rescans(http: aiohttp.ClientSession, url: str, rec: Record, until: float) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        target = "/api/rescan?wait=1" + ("&path=churn" if n % 2 else "")
        began = time.perf_counter()
        try:
            async with http.post(url + target) as resp:
                body = await resp.json()
                if resp.status != 200:
                    rec.fail("rescan", target, f"{resp.status} {body}")
        except Exception as exc:
            rec.fail("rescan", target, f"{type(exc).__name__}: {exc}")
            continue
        rec.rescans.append({"t": rec.now(), "seconds": round(time.perf_counter() - began, 3),
                            "status": body.get("status"), "mode": body.get("mode"),
                            "error": body.get("error")})


async def sse_client(http: aiohttp.ClientSession, url: str, rec: Record, until: float,
                     seed: int, hold: bool = False) -> None:
    """Connect to /api/events, read for a while, drop the connection; again.

    With ``hold``, stay connected until the end of the run instead.
    """
    rng = random.Random(seed)
    while time.monotonic() < until:
        stay = until - time.monotonic() if hold else rng.uniform(0.2, 4.0)
        try:
            # No total timeout for a stream (the session's 30 s would cut it off).
            async with http.get(f"{url}/api/events", timeout=STREAM_TIMEOUT) as resp:
                rec.sse["connections"] += 1
                if resp.status != 200:
                    rec.fail("sse", "/api/events", f"{resp.status}")
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(stay):
                        async for line in resp.content:
                            rec.sse["events"] += line.startswith(b"event: ")
        except Exception as exc:
            rec.sse["errors"] += 1
            rec.fail("sse", "/api/events", f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(rng.uniform(0, 0.5))


async def sampler(http: aiohttp.ClientSession, url: str, pid: int, cache: Path, rec: Record,
                  until: float, every: float = 1.0) -> None:
    while time.monotonic() < until:
        await sample(http, url, pid, cache, rec)
        await asyncio.sleep(every)


async def sample(http: aiohttp.ClientSession, url: str, pid: int, cache: Path,
                 rec: Record) -> None:
    """One sample of the server. A generation file is live if the server has it open
    (served or leased) or current.db points at it (published, being swapped in); one
    that is neither is a leak if it is older than the generation served, asked first
    (``leaked``)."""
    try:
        async with http.get(url + "/api/status") as resp:
            served = int((await resp.json())["generation"])
    except Exception:  # busy past the session's timeout, or ending: no sample this time
        return
    try:
        current = os.readlink(cache / "current.db")
        server = proc_stats(pid)
        stats = {"rss_kb": round(server["rss_mb"] * 1024), "fds": server["fds"],
                 "threads": server["threads"]}
        live = open_generations(pid) | {current}
    except (OSError, KeyError):  # no current.db yet, or the server has ended
        return
    on_disk = sorted(p.name for p in cache.glob("gen-*.db"))
    thumbs, thumb_bytes = tree_size(cache / "thumbs")
    extra = sorted(set(on_disk) - live)
    rec.samples.append({"t": rec.now(), **stats, "generations": len(on_disk),
                        "live": len(live), "extra": len(extra), "extra_names": extra,
                        "current": current, "served": served,
                        "leaks": len(leaked(extra, served)),
                        "thumbs": thumbs, "thumb_mb": round(thumb_bytes / 1e6, 2)})


def leaked(extra: list[str], served: int) -> list[str]:
    """The generation files of ``extra`` (on disk, neither open nor current) older than
    the generation ``served``: left behind. From the swap to that one on, every older
    file is open (leased) or deleted: the swap deletes those passed over
    (``remove_stale_generations``) and a retired one is deleted before its
    connections close. A newer one is on its way in: renamed into place before
    current.db is pointed at it, or passed over by a quicker next one (the CI run
    that failed on an extra file in two samples in a row saw one of these)."""
    return [name for name in extra if generation_number(name) < served]


def generation_number(name: str) -> int:
    return int(name.removeprefix("gen-").removesuffix(".db"))


# -- the run and its figures -------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    return percentile(values, p, empty=0.0)


def summarize(rec: Record, seconds: float, warmup: float, log_text: str) -> dict[str, Any]:
    lat: dict[str, list[float]] = {}
    for _, kind, ms, _ in rec.requests:
        lat.setdefault(kind, []).append(ms)
    everything = [ms for values in lat.values() for ms in values]
    latency = {kind: {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99), "max": max(v)}
               for kind, v in sorted(lat.items())}
    latency["all"] = {"n": len(everything), "p50": pct(everything, 50),
                      "p99": pct(everything, 99), "max": max(everything, default=0)}
    after = [s for s in rec.samples if s["t"] >= warmup]
    tenth = max(1, len(after) // 10)
    flat = {}
    for key in ("rss_kb", "fds", "threads"):
        first = statistics.median(s[key] for s in after[:tenth]) if after else 0
        last = statistics.median(s[key] for s in after[-tenth:]) if after else 0
        flat[key] = {"after_warmup": first, "end": last,
                     "max": max((s[key] for s in after), default=0),
                     "growth": round((last - first) / first, 3) if first else 0.0}
    lines = log_text.splitlines()
    tracebacks = [i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line]
    # The last line of each traceback says what it was (for the report).
    kinds: dict[str, int] = {}
    for i in tracebacks:
        end = next((j for j in range(i + 1, len(lines)) if lines[j] and not
                    lines[j].startswith((" ", "\t", "Traceback"))), i)
        kinds[lines[end][:160]] = kinds.get(lines[end][:160], 0) + 1
    errors = [line[:300] for line in lines if " ERROR " in line]
    extra_runs = max_run = 0
    for s in rec.samples:
        extra_runs = extra_runs + 1 if s["extra"] > 0 else 0
        max_run = max(max_run, extra_runs)
    leaks = [s for s in rec.samples if s["leaks"]]
    final = rec.samples[-1] if rec.samples else {}
    goals = {
        "no failed requests": len(rec.failures) == 0,
        "no traceback in the log": not tracebacks,
        **{f"{key} flat (within 10 % after warm-up)": flat[key]["growth"] <= FLAT
           for key in flat},
        # At the end, quiet, none but the live ones; meanwhile none older than the one
        # served (newer ones are on their way in: ``leaked``).
        "at most the live generations on disk": final.get("extra", 1) == 0 and not leaks,
    }
    return {
        "seconds": round(seconds, 1), "warmup_s": warmup, "requests": len(rec.requests),
        "failed": len(rec.failures), "failures": rec.failures[:50], "latency_ms": latency,
        "flat": flat, "tracebacks": len(tracebacks), "traceback_kinds": kinds,
        "error_lines": len(errors), "error_examples": errors[:10],
        "rescans": {"count": len(rec.rescans),
                    "by_status": {s: sum(r["status"] == s for r in rec.rescans)
                                  for s in sorted({str(r["status"]) for r in rec.rescans})},
                    "p50_s": pct([r["seconds"] for r in rec.rescans], 50),
                    "max_s": max((r["seconds"] for r in rec.rescans), default=0)},
        "churn": rec.churn, "sse": rec.sse,
        "generations": {"max_on_disk": max((s["generations"] for s in rec.samples), default=0),
                        "max_extra": max((s["extra"] for s in rec.samples), default=0),
                        "longest_extra_run_samples": max_run,
                        "leaked": [(s["t"], s["extra_names"], s["served"]) for s in leaks][:20],
                        "final": final},
        "thumbs": {"files": final.get("thumbs"), "mb": final.get("thumb_mb")},
        "goals": goals,
    }


def windows(rec: Record, width: float) -> list[dict[str, float]]:
    """p50 / p99 / max latency and failures per ``width`` seconds."""
    out = []
    end = max((r[0] for r in rec.requests), default=0)
    t = 0.0
    while t < end:
        ms = [r[2] for r in rec.requests if t <= r[0] < t + width]
        fails = sum(1 for f in rec.failures if t <= f["t"] < t + width)
        if ms:
            out.append({"t": t + width / 2, "p50": pct(ms, 50), "p99": pct(ms, 99),
                        "max": max(ms), "rps": len(ms) / width, "failed": fails})
        t += width
    return out


def plot(rec: Record, summary: dict[str, Any], path: Path, width: float) -> None:
    plt = pyplot()
    win = windows(rec, width)
    fig, axes = plt.subplots(5, 1, figsize=(10, 13), sharex=True)
    ax = axes[0]
    for key, style in (("p50", "-"), ("p99", "-"), ("max", ":")):
        ax.plot([w["t"] for w in win], [w[key] for w in win], style, label=key)
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms)")
    ax.set_title(f"mediasrv soak: {summary['seconds']:.0f} s, {summary['requests']:,} requests, "
                 f"{summary['failed']} failed, {summary['rescans']['count']} rescans, "
                 f"{summary['tracebacks']} tracebacks")
    ax.legend(loc="upper right")
    t = [s["t"] for s in rec.samples]
    axes[1].plot(t, [s["rss_kb"] / 1024 for s in rec.samples])
    axes[1].set_ylabel("server RSS (MB)")
    axes[2].plot(t, [s["fds"] for s in rec.samples], label="open fds")
    axes[2].plot(t, [s["threads"] for s in rec.samples], label="threads")
    axes[2].legend(loc="upper right")
    axes[2].set_ylabel("count")
    axes[3].plot(t, [s["generations"] for s in rec.samples], label="on disk")
    axes[3].plot(t, [s["live"] for s in rec.samples], "--", label="live (open or current)")
    axes[3].set_ylabel("generation files")
    axes[3].legend(loc="upper right")
    axes[4].plot(t, [s["thumb_mb"] for s in rec.samples])
    axes[4].set_ylabel("thumbnail cache (MB)")
    axes[4].set_xlabel("seconds")
    for ax in axes:
        ax.axvline(summary["warmup_s"], color="grey", lw=0.5)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def markdown(summary: dict[str, Any]) -> str:
    rows = ["| requests | n | p50 (ms) | p99 (ms) | max (ms) |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for kind, v in summary["latency_ms"].items():
        rows.append(f"| {kind} | {v['n']:,} | {v['p50']:.1f} | {v['p99']:.1f} | {v['max']:.0f} |")
    rows += ["", "| server process | after warm-up | end | max | growth |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for key, v in summary["flat"].items():
        rows.append(f"| {key} | {v['after_warmup']:,.0f} | {v['end']:,.0f} | {v['max']:,.0f} | "
                    f"{v['growth'] * 100:+.1f} % |")
    rows += ["", "| goal | met |", "| --- | --- |"]
    rows += [f"| {goal} | {'yes' if ok else '**no**'} |" for goal, ok in summary["goals"].items()]
    return "\n".join(rows) + "\n"


async def run(args: argparse.Namespace) -> int:
    work = Path(args.work or tempfile.mkdtemp(prefix="mediasrv-soak-"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root, cache, log = work / "lib", work / "cache", out / "server.log"
    if root.exists():
        shutil.rmtree(root)
    shutil.rmtree(cache, ignore_errors=True)
    make_library.make(root / "Real", args.real_files, seed=1)
    make_library.make(root / "Bulk", args.files, seed=2, empty=True)
    (root / "churn").mkdir()
    server = serve(root, cache, "--log-level", "info", log=log)
    proc, url = server.proc, server.base
    rec = Record()
    seconds = args.minutes * 60
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            await server.await_status(http, what="the first scan")
            files = Files()
            await files.refresh(http, url)
            rec.started = time.monotonic()
            until = rec.started + seconds

            async def refresher() -> None:
                while time.monotonic() < until:
                    await asyncio.sleep(5)
                    with contextlib.suppress(Exception):
                        await files.refresh(http, url)

            tasks = [client(http, url, files, rec, until, i) for i in range(args.clients)]
            tasks += [sse_client(http, url, rec, until, 100 + i, args.sse_hold)
                      for i in range(args.sse)]
            tasks += [churn(root / "churn", rec, until, args.churn_ms / 1000, 7),
                      rescans(http, url, rec, until),
                      sampler(http, url, proc.pid, cache, rec, until),
                      refresher()]
            await asyncio.gather(*tasks)
            # Quiet again: the last changes scanned, old generations let go.
            await http.post(f"{url}/api/rescan?wait=1")
            await asyncio.sleep(2)
            await sample(http, url, proc.pid, cache, rec)
    finally:
        server.stop()
    warmup = seconds * 0.2  # 2 minutes of 10: thumbnails, caches and pools fill up first
    summary = summarize(rec, seconds, warmup, log.read_text(errors="replace"))
    summary["command"] = command_line("soak.py", None)
    summary["machine"] = {"cpus": os.cpu_count(), "load_end": os.getloadavg()[0],
                          "files": args.files + args.real_files}
    width = max(1.0, seconds / 60)
    (out / "results.json").write_text(json.dumps(summary, indent=1))
    (out / "timeline.json").write_text(json.dumps(
        {"samples": rec.samples, "windows": windows(rec, width), "rescans": rec.rescans}))
    (out / "results.md").write_text(markdown(summary))
    plot(rec, summary, out / "soak.png", width)
    print(markdown(summary))
    print(f"soak: {summary['requests']:,} requests, {summary['failed']} failed, "
          f"{summary['tracebacks']} tracebacks; {out}/results.json, {out}/soak.png")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(summary["goals"].values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (default 10)")
    parser.add_argument("--out", default="soak-out", help="where results go (default soak-out)")
    parser.add_argument("--work", help="where the library and cache go (default: a temp dir)")
    parser.add_argument("--files", type=int, default=10_000,
                        help="empty files in the library (default 10,000)")
    parser.add_argument("--real-files", type=int, default=400,
                        help="real pictures, videos and songs (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="request clients (default 8)")
    parser.add_argument("--sse", type=int, default=50, help="event-stream clients (default 50)")
    parser.add_argument("--sse-hold", action="store_true",
                        help="event-stream clients stay connected for the whole run")
    parser.add_argument("--churn-ms", type=float, default=100.0,
                        help="mean milliseconds between file changes (default 100)")
    args = parser.parse_args(argv)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
