"""The command line, run as a user runs it: a subprocess, its exit status and its output."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from mediasrv.children import child_env
from mediasrv.cli import build_parser, settings_from_args, settings_table
from mediasrv.settings import Settings, new_token

from .conftest import SMALL_TREE, make_tree

REPO = Path(__file__).resolve().parent.parent


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
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
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "lib", SMALL_TREE)


@pytest.mark.parametrize("command", ["serve", "scan", "db-path"])
def test_missing_root(tmp_path: Path, command: str) -> None:
    line = one_error_line(run(command, str(tmp_path / "nope")))
    assert line == f"mediasrv: error: library root {tmp_path / 'nope'} does not exist"


def test_root_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"")
    line = one_error_line(run("serve", str(tmp_path / "a.jpg")))
    assert line == f"mediasrv: error: library root {tmp_path / 'a.jpg'} is not a folder"


def test_no_root_given() -> None:
    line = one_error_line(run("scan"))
    assert line == "mediasrv: error: which library? give ROOT (or set MEDIASRV_ROOT)"


def test_unwritable_cache_dir(lib: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    line = one_error_line(run("scan", str(lib), "--cache-dir", str(tmp_path / "file" / "cache")))
    assert line == (
        f"mediasrv: error: cache dir {tmp_path / 'file' / 'cache'} is not writable: Not a directory"
    )


def test_port_in_use(lib: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run("serve", str(lib), "--cache-dir", str(tmp_path / "c"), "--port", str(port))
    assert one_error_line(proc) == f"mediasrv: error: port {port} on 127.0.0.1 is already in use"


def test_beyond_loopback_needs_a_token(lib: Path, tmp_path: Path) -> None:
    line = one_error_line(
        run("serve", str(lib), "--host", "0.0.0.0", "--cache-dir", str(tmp_path / "c"))
    )
    assert line.startswith("mediasrv: error: refusing to listen on 0.0.0.0 without an access token")


@pytest.mark.parametrize("env", [{}, {"MEDIASRV_TOKEN": "abc"}])
def test_a_short_token_is_refused_and_says_how_to_make_one(
    lib: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    args = [] if env else ["--token", "abc"]
    line = one_error_line(run("serve", str(lib), "--cache-dir", str(tmp_path / "c"), *args,
                              env=env))
    assert line == ("mediasrv: error: --token is too short (3 characters, at least 16 are "
                    "needed: a short one is guessed); 'mediasrv token' prints a random one")
    one_error_line(run("serve", str(lib), "--token", "0123456789abcde"))  # 15
    one_error_line(run("serve", str(lib), "--token", ""))  # "$TOKEN" of an unset variable


def test_mediasrv_token_prints_a_fresh_random_token() -> None:
    tokens = [run("token") for _ in range(2)]
    assert [proc.returncode for proc in tokens] == [0, 0]
    first, second = (proc.stdout for proc in tokens)
    assert re.fullmatch(r"[A-Za-z0-9]{32}\n", first), first
    assert first != second
    assert len(set(first)) > 10  # not one character repeated
    settings = serve_settings([str(REPO), "--token", first.strip()])
    assert settings.token == first.strip()


def test_a_made_token_is_never_taken_for_a_flag() -> None:
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert {t[0] for t in tokens} <= set(string.ascii_letters + string.digits)
    assert len({t[0] for t in tokens}) > 50  # every first character occurs


def test_trusted_proxies_are_networks_from_flags_or_the_environment(lib: Path) -> None:
    settings = serve_settings([str(lib), "--trusted-proxy", "10.0.0.7/8",
                               "--trusted-proxy", "[::1]", "--trusted-proxy", "192.0.2.1"])
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1/128", "192.0.2.1/32")
    from_env = serve_settings([str(lib)], {"MEDIASRV_TRUSTED_PROXY": "127.0.0.1, fd00::/8"})
    assert from_env.trusted_proxies == ("127.0.0.1/32", "fd00::/8")
    assert serve_settings([str(lib)]).trusted_proxies == ()
    line = one_error_line(run("serve", str(lib), "--trusted-proxy", "proxy.lan"))
    assert line == ("mediasrv: error: --trusted-proxy 'proxy.lan' is not an IP address or "
                    "network (such as 10.0.0.2 or 10.0.0.0/8)")


def serve_settings(argv: list[str], environ: dict[str, str] | None = None) -> Settings:
    return settings_from_args(build_parser().parse_args(["serve", *argv]), environ or {})


def test_allowed_host_is_repeatable(lib: Path) -> None:
    settings = serve_settings([str(lib), "--allowed-host", "Media.Example.org",
                               "--allowed-host", "nas", "--allowed-host", "fd00::5"])
    assert settings.allowed_hosts == ("media.example.org", "nas", "[fd00::5]")
    assert serve_settings([str(lib)]).allowed_hosts == ()


@pytest.mark.parametrize("raw", ["media.example.org,nas", "media.example.org nas",
                                 " media.example.org ,\tnas, "])
def test_allowed_hosts_from_the_environment(lib: Path, raw: str) -> None:
    settings = serve_settings([str(lib)], {"MEDIASRV_ALLOWED_HOSTS": raw})
    assert settings.allowed_hosts == ("media.example.org", "nas")


def test_allowed_host_flag_beats_environment(lib: Path) -> None:
    settings = serve_settings([str(lib), "--allowed-host", "a.example"],
                              {"MEDIASRV_ALLOWED_HOSTS": "b.example"})
    assert settings.allowed_hosts == ("a.example",)


def test_allowed_host_with_a_port_is_one_error_line(lib: Path) -> None:
    line = one_error_line(run("serve", str(lib), "--allowed-host", "media.example.org:8443"))
    assert line == ("mediasrv: error: --allowed-host 'media.example.org:8443' has a port; "
                    "give the name alone (any port is allowed)")
    line = one_error_line(run("serve", str(lib), env={"MEDIASRV_ALLOWED_HOSTS": "*.example.org"}))
    assert line == ("mediasrv: error: --allowed-host '*.example.org' is not a host name or "
                    "IP address (no wildcards, no port)")


def test_bad_environment_value(lib: Path) -> None:
    line = one_error_line(run("serve", str(lib), env={"MEDIASRV_PORT": "eighty"}))
    assert line == "mediasrv: error: MEDIASRV_PORT='eighty': expected a whole number"


def test_bad_flag_value_is_argparse_usage_error(lib: Path) -> None:
    proc = run("serve", str(lib), "--state", "disk")
    assert proc.returncode == 2
    assert "invalid choice: 'disk'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_scan_prints_a_summary_then_db_path_finds_it(lib: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = run("scan", str(lib), "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert re.fullmatch(
        r"generation 1: 7 files, 8 tags in \d+\.\d\ds, built in full \(added 7, removed 0, "
        r"changed 0\)", out[0]
    ), out
    assert out[-1] == f"index: {cache / 'current.db'}"
    again = run("scan", str(lib), "--cache-dir", str(cache))
    assert again.stdout.startswith("no change: generation 1 is current (7 files, 8 tags")
    path = run("db-path", str(lib), "--cache-dir", str(cache))
    assert (path.returncode, path.stdout) == (0, f"{cache / 'current.db'}\n")


def test_scan_reads_its_settings_from_the_environment(lib: Path, tmp_path: Path) -> None:
    env = {"MEDIASRV_ROOT": str(lib), "MEDIASRV_CACHE_DIR": str(tmp_path / "envcache")}
    assert run("scan", env=env).returncode == 0
    assert run("db-path", env=env).stdout == f"{tmp_path / 'envcache' / 'current.db'}\n"


def test_flag_beats_environment(lib: Path, tmp_path: Path) -> None:
    env = {"MEDIASRV_CACHE_DIR": str(tmp_path / "from-env")}
    run("scan", str(lib), "--cache-dir", str(tmp_path / "from-flag"), env=env)
    assert (tmp_path / "from-flag" / "current.db").exists()
    assert not (tmp_path / "from-env").exists()


def test_default_cache_dir_follows_xdg(lib: Path, tmp_path: Path) -> None:
    proc = run("scan", str(lib), env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert proc.returncode == 0, proc.stderr
    (folder,) = (tmp_path / "xdg" / "mediasrv").iterdir()
    assert re.fullmatch(r"lib-[0-9a-f]{10}", folder.name)


def test_db_path_before_any_scan(lib: Path, tmp_path: Path) -> None:
    line = one_error_line(run("db-path", str(lib), "--cache-dir", str(tmp_path / "c")))
    assert line == f"mediasrv: error: no index yet for {lib}; run: mediasrv scan {lib}"


def test_serve_answers_and_stops_cleanly_on_sigterm(lib: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mediasrv",
            "serve",
            str(lib),
            "--port",
            "0",
            "--no-watch",
            "--cache-dir",
            str(tmp_path / "c"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.stderr is not None
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if match := re.search(r"at (http://127\.0\.0\.1:\d+/)", line):
                url = match.group(1)
        assert url, "the server never said where it listens"
        for _ in range(100):
            with urllib.request.urlopen(url + "api/status", timeout=10) as resp:
                status = json.load(resp)
            if status["generation"] == 1 and not status["scanning"]:
                break
            time.sleep(0.1)
        assert (status["generation"], status["files"]) == (1, 7)
        second = run("serve", str(lib), "--port", "0", "--cache-dir", str(tmp_path / "c"))
        assert one_error_line(second) == (
            f"mediasrv: error: another mediasrv is already serving from {tmp_path / 'c'}"
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_readme_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    assert settings_table() in readme


def test_scan_full_runs_and_prints_a_summary(lib: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run("scan", str(lib), "--cache-dir", str(cache)).returncode == 0
    proc = run("scan", str(lib), "--full", "--cache-dir", str(cache))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert re.fullmatch(r"generation 2: 7 files, 8 tags in [0-9.]+s, built in full \(added 0, "
                        r"removed 0, changed 0\)", out[0]), out[0]
    assert out[-1] == f"index: {cache / 'current.db'}"
    assert "--full" in run("scan", "--help").stdout
    assert "--full" not in run("serve", "--help").stdout


@pytest.mark.parametrize(("args", "env", "full"), [
    ([], {}, False),
    (["--full"], {}, True),
    ([], {"MEDIASRV_FULL": "1"}, True),
])
def test_scan_full_asks_run_scan_for_a_full_rebuild(
    lib: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    args: list[str], env: dict[str, str], full: bool,
) -> None:
    from mediasrv import cli
    from mediasrv.scan import job

    asked: list[bool] = []
    real = job.run_scan

    def recording(*a: Any, full: bool = False, **kw: Any) -> job.ScanResult:
        asked.append(full)
        return real(*a, full=full, **kw)

    monkeypatch.setattr(job, "run_scan", recording)
    argv = ["scan", str(lib), "--cache-dir", str(tmp_path / "c"), *args]
    assert cli.main(argv, environ=env) == 0
    assert asked == [full]


def test_scan_out_of_disk_in_sqlite_is_one_line(lib: Path, tmp_path: Path) -> None:
    """SQLite's own "database or disk is full" is a user's one-line error, not a traceback."""
    helper = tmp_path / "full.py"
    helper.write_text(
        "import sys\n"
        "from mediasrv import cli\nfrom mediasrv.index import db\n"
        "real = db.connect_build\n"
        "def capped(path):\n"
        "    conn = real(path)\n"
        "    conn.execute('PRAGMA max_page_count = 4')\n"
        "    return conn\n"
        "db.connect_build = capped\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(helper), "scan", str(lib), "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, env=child_env(), timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("mediasrv: error: scan failed: the disk")
    assert "Traceback" not in proc.stderr


def test_serve_with_a_token_says_how_to_sign_in_but_never_prints_it(
    lib: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mediasrv", "serve", str(lib), "--port", "0", "--no-watch",
         "--rescan-interval", "0", "--cache-dir", str(tmp_path / "c"),
         "--token", "s3cret-0123456789-do-not-print"],
        stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        while not any("sign in" in line for line in lines) and time.monotonic() < deadline:
            lines.append(proc.stderr.readline())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        lines.append(proc.stderr.read())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    text = "".join(lines)
    assert re.search(r"mediasrv: serving .* at http://127\.0\.0\.1:\d+/\n", text), text
    assert "mediasrv: sign in there with the access token given to --token" in text
    assert "s3cret-0123456789-do-not-print" not in text


@pytest.mark.parametrize("command", ["serve", "scan", "db-path"])
def test_help_shows_one_default_per_flag_in_plain_words(command: str) -> None:
    proc = run(command, "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    options = re.split(r"\n(?=  --)", proc.stdout.partition("options:\n")[2])
    for option in options:
        if option.lstrip().startswith("--"):
            assert option.count("default") == 1, option
    assert "True" not in text and "False" not in text and "3600.0" not in text
    if command == "serve":
        assert "--no-watch do not watch the library for changes (default: off, changes are " \
               "watched; env MEDIASRV_NO_WATCH)" in text
        assert "--rescan-interval SECONDS" in text and "(default: 3600, an hour;" in text
    assert "--cache-dir DIR where generations and thumbnails live (default: " \
           "$XDG_CACHE_HOME/mediasrv/<root-name>-<hash>, usually under ~/.cache; env " \
           "MEDIASRV_CACHE_DIR)" in text
