"""The built wheel, as `pip install mediasrv` or pipx gives it, serves a library.

Installs from the source tree are what every other test runs; this one builds
the wheel (``web/`` and ``migrations/`` reach it by ``force-include``),
installs it into a fresh venv outside the source tree and serves from it.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from .conftest import make_tree

pytestmark = [pytest.mark.slow, pytest.mark.wheel, pytest.mark.timeout(600)]

SOURCE = Path(__file__).parent.parent


def jpeg(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def clean_env() -> dict[str, str]:
    """This environment without what would make Python import the source tree."""
    return {k: v for k, v in os.environ.items()
            if k != "PYTHONPATH" and not k.startswith("MEDIASRV_")}


def run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, resp.headers.get_content_type(), resp.read()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel built from this tree installed; its bin/ folder."""
    where = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", SOURCE, "--no-deps", "-w", where / "dist",
        cwd=where)
    (wheel,) = (where / "dist").glob("mediasrv-*.whl")
    # The dependencies come from this interpreter's site-packages: nothing to download.
    run(sys.executable, "-m", "venv", "--system-site-packages", where / "venv", cwd=where)
    bin_dir = where / "venv" / "bin"
    run(bin_dir / "python", "-m", "pip", "install", "--no-deps", "--force-reinstall", wheel,
        cwd=where)
    return bin_dir


def test_the_wheel_carries_the_web_files_and_the_migrations(installed: Path) -> None:
    found = run(installed / "python", "-c",
                "import mediasrv, pathlib; p = pathlib.Path(mediasrv.__file__).parent; "
                "print(p); print(sorted(x.name for x in (p / 'migrations').glob('*.sql'))[0]); "
                "print((p / 'web' / 'templates').is_dir())", cwd=installed).split("\n")
    assert Path(found[0]).is_relative_to(installed.parent)  # the venv's, not the source tree
    assert (found[1].startswith("0001_"), found[2]) == (True, "True")


def test_the_installed_wheel_serves_pages_static_files_thumbnails_and_previews(
    installed: Path, tmp_path: Path
) -> None:
    lib = make_tree(tmp_path / "lib", {
        "Trips/sea.jpg": jpeg(1600, 1200, (20, 90, 200)),
        "Trips/sand.jpg": jpeg(800, 600, (220, 200, 120)),
    })
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [installed / "mediasrv", "serve", lib, "--port", "0", "--no-watch",
             "--cache-dir", tmp_path / "cache"],
            cwd=tmp_path, env=clean_env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = found.group(1)
        while (status := json.loads(fetch(url + "api/status")[2]))["generation"] is None \
                or status["scanning"]:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        status, kind, page = fetch(url + "tag/Trips")
        assert (status, kind, b"sea.jpg" in page) == (200, "text/html", True)
        static = re.search(rb'href="/(static/[^"]+\.css[^"]*)"', page)
        assert static is not None, page
        status, kind, _ = fetch(url + static.group(1).decode())
        assert (status, kind) == (200, "text/css")
        status, kind, thumb = fetch(url + "thumb/Trips/sea.jpg")
        assert (status, kind, Image.open(io.BytesIO(thumb)).format) == (200, "image/jpeg", "JPEG")
        status, kind, preview = fetch(url + "preview/Trips/sea.jpg")
        with Image.open(io.BytesIO(preview)) as shown:
            assert (status, kind, shown.format) == (200, "image/jpeg", "JPEG")
            assert max(shown.size) > max(Image.open(io.BytesIO(thumb)).size)
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
    assert "Traceback" not in log.read_text(), log.read_text()
