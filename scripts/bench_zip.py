#!/usr/bin/env python3
"""A tag as one zip (``/api/zip``) against the same files one by one (``/media``), one server.

    python scripts/bench_zip.py [--mb 1024] [--files 200] [--runs 3] [--dir DIR]

Makes a library of ``--files`` files of real (non-sparse) bytes, ``--mb``
MB in all, in a temporary directory (deleted afterwards), starts ``mediasrv
serve`` on it (a subprocess on 127.0.0.1) and, after one untimed pass that
leaves every file in the page cache, alternates ``--runs`` times:

- plain: every file of the tag from ``/media/{path}``, one after another on
  one keep-alive connection;
- zip: ``/api/zip?tag=Bench`` on a fresh connection, with the server's
  resident memory (VmRSS) sampled every 20 ms from before the request to the
  end, and the time from sending the request to the first byte of the body.

The client is this process (``http.client``, ``readinto`` a reused 1 MiB
buffer, nothing kept), so client and server each have a core of their own
on a 2-core machine. Prints each run, the best of each, and a Markdown
section for docs/BENCHMARKS.md. Goals (issue 21): zip throughput at least
0.9x plain, RSS growth at most 40 MB, first bytes within 0.5 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

TAG = "Bench"
BUFFER = 1 << 20


def make_library(root: Path, total_mb: int, files: int) -> list[str]:
    """``files`` files of about ``total_mb`` MB between them, written for real; their paths."""
    block = os.urandom(BUFFER)
    size = total_mb * (1 << 20) // files
    paths = []
    for i in range(files):
        rel = f"{TAG}/clip{i:04d}.bin"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        unit = block[i:] + block[:i]  # a rotation of its own: no two files alike
        with open(root / rel, "wb") as f:
            for start in range(0, size, BUFFER):
                f.write(unit[:min(BUFFER, size - start)])
        paths.append(rel)
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path, cache: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediasrv", "serve", str(root), "--cache-dir", str(cache),
         "--port", str(port), "--no-watch", "--rescan-interval", "0", "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/status"
            with urllib.request.urlopen(url, timeout=5) as resp:
                if json.loads(resp.read())["scanning"] is False:
                    return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("bench_zip: the server did not become ready")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fetch(conn: http.client.HTTPConnection, url: str, buf: memoryview) -> tuple[int, float]:
    """GET ``url`` on ``conn``; (body bytes, seconds to the first body byte)."""
    start = time.perf_counter()
    conn.request("GET", url)
    resp = conn.getresponse()
    if resp.status != 200:
        raise SystemExit(f"bench_zip: {url} answered {resp.status}")
    got = resp.readinto(buf)
    first = time.perf_counter() - start
    total = got
    while got:
        got = resp.readinto(buf)
        total += got
    length = int(resp.headers["Content-Length"])
    if total != length:
        raise SystemExit(f"bench_zip: {url}: {total} bytes, Content-Length {length}")
    return total, first


def plain(port: int, pid: int, paths: list[str], buf: memoryview) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    server_cpu, client_cpu = cpu_s(pid), time.process_time()
    start = time.perf_counter()
    total, firsts = 0, []
    for rel in paths:
        got, first = fetch(conn, "/media/" + rel, buf)
        total += got
        firsts.append(first)
    seconds = time.perf_counter() - start
    conn.close()
    return {"bytes": total, "seconds": seconds, "mb_s": total / seconds / 1e6,
            "first_s": statistics.median(firsts),
            "server_cpu_gb": (cpu_s(pid) - server_cpu) / (total / 1e9),
            "client_cpu_gb": (time.process_time() - client_cpu) / (total / 1e9)}


def zipped(port: int, pid: int, buf: memoryview) -> dict[str, float]:
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_mb(pid))
            time.sleep(0.02)

    before = rss_mb(pid)
    sampler = threading.Thread(target=sample)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", port)
    server_cpu, client_cpu = cpu_s(pid), time.process_time()
    start = time.perf_counter()
    try:
        total, first = fetch(conn, f"/api/zip?tag={TAG}", buf)
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        conn.close()
    return {"bytes": total, "seconds": seconds, "mb_s": total / seconds / 1e6,
            "first_s": first, "rss_before_mb": before,
            "rss_growth_mb": max(samples, default=before) - before,
            "server_cpu_gb": (cpu_s(pid) - server_cpu) / (total / 1e9),
            "client_cpu_gb": (time.process_time() - client_cpu) / (total / 1e9)}


def run(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    root, cache = base / "lib", base / "cache"
    print(f"writing {args.mb} MB in {args.files} files under {root} ...", flush=True)
    paths = make_library(root, args.mb, args.files)
    proc, port = start_server(root, cache)
    buf = memoryview(bytearray(BUFFER))
    try:
        plain(port, proc.pid, paths, buf)  # untimed: every file into the page cache, the pool warm
        runs: dict[str, list[dict[str, float]]] = {"plain": [], "zip": []}
        for i in range(args.runs):
            runs["plain"].append(plain(port, proc.pid, paths, buf))
            runs["zip"].append(zipped(port, proc.pid, buf))
            p, z = runs["plain"][-1], runs["zip"][-1]
            print(f"run {i + 1}: plain {p['mb_s']:.0f} MB/s, zip {z['mb_s']:.0f} MB/s "
                  f"({z['mb_s'] / p['mb_s']:.2f}x), first bytes {z['first_s'] * 1000:.0f} ms, "
                  f"RSS +{z['rss_growth_mb']:.1f} MB; server CPU s/GB plain "
                  f"{p['server_cpu_gb']:.2f} zip {z['server_cpu_gb']:.2f}, client "
                  f"{p['client_cpu_gb']:.2f} / {z['client_cpu_gb']:.2f}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"runs": runs, "files": len(paths), "bytes": runs["plain"][0]["bytes"]}


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    plain_runs, zip_runs = result["runs"]["plain"], result["runs"]["zip"]
    ratio = statistics.median(z["mb_s"] / p["mb_s"]
                              for p, z in zip(plain_runs, zip_runs, strict=True))
    growth = max(r["rss_growth_mb"] for r in zip_runs)
    first = max(r["first_s"] for r in zip_runs)
    rows = "\n".join(
        f"| {i + 1} | {p['mb_s']:,.0f} | {z['mb_s']:,.0f} | {z['mb_s'] / p['mb_s']:.2f}x | "
        f"{p['server_cpu_gb']:.2f} / {z['server_cpu_gb']:.2f} | "
        f"{p['client_cpu_gb']:.2f} / {z['client_cpu_gb']:.2f} | "
        f"{z['first_s'] * 1000:,.0f} | {z['rss_growth_mb']:.1f} |"
        for i, (p, z) in enumerate(zip(plain_runs, zip_runs, strict=True)))
    header = ("| run | plain (MB/s) | zip (MB/s) | zip / plain | server CPU s/GB, plain / zip "
              "| client CPU s/GB, plain / zip | zip first bytes (ms) | server RSS growth (MB) |")

    def met(ok: bool) -> str:
        return "yes" if ok else "no"

    return f"""## Zip downloads: a tag as one zip against its files one by one (issue 21)

```
python scripts/bench_zip.py --mb {args.mb} --files {args.files} --runs {args.runs}
```

{result['files']} files, {result['bytes'] / 1e6:,.0f} MB of random bytes in the page cache; one
`mediasrv serve` on 127.0.0.1; plain is every file from `/media` in turn on one keep-alive
connection, zip is `/api/zip` of their tag; the client is `http.client` in the benchmark's
process (load average {os.getloadavg()[0]:.1f} at the end).

{header}
| --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

| goal | measured | met |
| --- | --- | --- |
| zip >= 0.9x plain throughput | {ratio:.2f}x (median of the runs) | {met(ratio >= 0.9)} |
| server RSS growth <= 40 MB | {growth:.1f} MB (most of any run) | {met(growth <= 40)} |
| first bytes <= 0.5 s | {first * 1000:,.0f} ms (slowest run) | {met(first <= 0.5)} |
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="size of the tag in MB")
    parser.add_argument("--files", type=int, default=200, help="number of files in the tag")
    parser.add_argument("--runs", type=int, default=3, help="plain and zip runs, alternated")
    parser.add_argument("--dir", type=Path, default=None, help="where to make the library")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-zip-", dir=args.dir))
    try:
        result = run(args, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print(report(result, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
