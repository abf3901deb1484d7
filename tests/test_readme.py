"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)[:2]


def test_readme_starts_with_serve_then_test_command() -> None:
    serve, test = readme_commands()
    # in a virtual environment: many systems' Python refuses a global pip install
    venv, activate, install, *rest = serve.split(" && ")
    assert venv.startswith("python3 -m venv ") and activate.startswith(". ")
    assert activate.endswith("/bin/activate") and venv.split()[-1] in activate
    assert install == "pip install -e ." and "mediasrv serve" in rest[-1]
    assert test.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert test in ci


def readme_queries() -> list[str]:
    """The SQL of every ``sqlite3 "$(mediasrv db-path …)"`` example."""
    text = (REPO / "README.md").read_text()
    return [re.sub(r"\s+", " ", sql) for sql in
            re.findall(r'sqlite3 "\$\(mediasrv db-path [^)]*\)" \\\n\s*"([^"]+)"', text)]


def test_the_readme_s_queries_run_on_a_generation(tmp_path: Path) -> None:
    """What the README tells ``sqlite3`` users to type works on what a scan publishes."""
    import sqlite3

    from mediasrv.index.cachedir import CacheDir
    from mediasrv.scan.job import run_scan

    from .support import SMALL_TREE, make_tree, song_bytes

    cache = CacheDir(tmp_path / "cache")
    # A real tagged song, for the query of the songs view.
    tree = {**SMALL_TREE, "Music/tagged.mp3": song_bytes("mp3", artist="Band", title="Song")}
    run_scan(make_tree(tmp_path / "lib", tree), cache)
    queries = readme_queries()
    assert len(queries) >= 3 and any("taken_order" in q for q in queries)
    conn = sqlite3.connect(cache.current)
    for sql in queries:
        assert conn.execute(sql).fetchall() or "path_bytes IS NOT NULL" in sql, sql
