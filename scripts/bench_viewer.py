#!/usr/bin/env python3
"""Time to a visible photo in the viewer: a 24 MP JPEG, as its preview and as the original.

    python scripts/bench_viewer.py [--runs 5] [--dir /tmp/bench-viewer] [--before 8abd0ff]

Makes a library with one 6000x4000 JPEG (camera-like: detail everywhere, so
about 10 MB), starts ``mediasrv serve`` on it (a subprocess on 127.0.0.1) and
drives headless Chromium (Debian's ``/usr/bin/chromium``, through Playwright).
Each run opens ``/view/All/big.jpg`` in a new browser profile (an empty
browser cache, on disk) and reads, in the page, the time from navigation start until
the picture is decoded and the next frame is painted.

- preview, first view: the preview is made for this request (its cache
  emptied before each run);
- preview, made before: the server has it in its cache;
- browser cache: the same tab opens the page again;
- original: the viewer as it was before previews (``--before``, a commit of
  this repository: its code is exported with ``git archive`` and served
  from there), which loads the file itself; first view and browser cache.

Each row is measured on the loopback link and on an emulated 100 Mbit/s link
(Chromium's network emulation: 12.5 MB/s down, 5 ms latency), closer to
Wi-Fi. Prints medians and a Markdown section for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import camera_jpeg, export_tree, serve_indexed

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LINKS = {"loopback": None,
         "100 Mbit/s": {"offline": False, "latency": 5, "downloadThroughput": 12.5e6,
                        "uploadThroughput": 12.5e6}}
# In the page: ms from navigation start until #media is decoded and a frame painted.
VISIBLE = """() => new Promise(done => {
    const img = document.getElementById('media');
    const shown = () => img.decode().then(
        () => requestAnimationFrame(() => done(performance.now())));
    if (img.complete && img.naturalWidth) shown(); else img.addEventListener('load', shown);
})"""


def visit(p: Any, base: str, link: dict[str, Any] | None, *, original: bool,
          twice: bool = False) -> list[float]:
    """Open the viewer in a new browser profile (twice: then again in the same tab); ms each.

    A profile of its own, not an incognito context: its HTTP cache is on disk,
    as a user's is (an in-memory one keeps no 13 MB file).
    """
    with tempfile.TemporaryDirectory(prefix="bench-viewer-profile-") as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, base_url=base,
            viewport={"width": 1920, "height": 1080})
        try:
            return _visit(context, link, original=original, twice=twice)
        finally:
            context.close()


def _visit(context: Any, link: dict[str, Any] | None, *, original: bool,
           twice: bool) -> list[float]:
    page = context.new_page()
    if link is not None:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", link)
    times = []
    for _ in range(2 if twice else 1):
        page.goto("/view/All/big.jpg")
        src = page.get_attribute("#media", "src") or ""
        assert src.startswith("/media/" if original else "/preview/"), src  # as intended
        times.append(float(page.evaluate(VISIBLE)))
    return times


def measure(p: Any, base: str, before: str, thumbs: Path,
            runs: int) -> dict[tuple[str, str], list]:
    found: dict[tuple[str, str], list[float]] = {}

    def add(row: str, link: str, ms: float) -> None:
        found.setdefault((row, link), []).append(ms)

    for link_name, link in LINKS.items():
        for _ in range(runs):
            shutil.rmtree(thumbs, ignore_errors=True)  # the preview is made for this visit
            add("preview, first view (made for it)", link_name,
                visit(p, base, link, original=False)[0])
            made, again = visit(p, base, link, original=False, twice=True)
            add("preview, made before (server cache)", link_name, made)
            add("preview, browser cache", link_name, again)
            first, cached = visit(p, before, link, original=True, twice=True)
            add("original, first view", link_name, first)
            add("original, browser cache", link_name, cached)
    return found


def report(found: dict[tuple[str, str], list[float]], size: int, runs: int) -> str:
    rows = list(dict.fromkeys(row for row, _ in found))
    lines = [f"(6000x4000 JPEG, {size / 1e6:.1f} MB; preview 2048x1365; viewport 1920x1080; "
             f"median of {runs} runs; {os.cpu_count()} CPUs, load average "
             f"{os.getloadavg()[0]:.1f} at the end)", "",
             "| time to a visible photo (ms) | " + " | ".join(LINKS) + " |",
             "| --- |" + " --- |" * len(LINKS)]
    for row in rows:
        cells = [f"{statistics.median(found[(row, link)]):,.0f}" for link in LINKS]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-viewer"))
    parser.add_argument("--before", default="8abd0ff",
                        help="a commit whose viewer loads the original (default: 8abd0ff)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    shutil.rmtree(args.dir, ignore_errors=True)
    root = args.dir / "lib"
    root.mkdir(parents=True)
    (root / "big.jpg").write_bytes(camera_jpeg())
    cache = args.dir / "cache"
    servers = []
    try:
        servers.append(serve_indexed(root, cache, timeout=60))
        servers.append(serve_indexed(root, args.dir / "cache-before", timeout=60,
                                     tree=export_tree(args.before, args.dir / "before")))
        with sync_playwright() as p:
            found = measure(p, servers[0].base, servers[1].base, cache / "thumbs", args.runs)
    finally:
        for server in servers:
            server.stop()
    print(report(found, (root / "big.jpg").stat().st_size, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
