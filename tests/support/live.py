"""A real ``mediasrv serve`` in its own process, run exactly as a user runs it.

For the tests that need the whole program (several servers, signals, fuzzing,
faults, a browser): the CLI, its own event loop, its scan process and watcher,
on a loopback port of its choosing. Its output is kept (``log_text()``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediasrv.children import child_env

from .waiting import blocking_until

LISTENING = re.compile(r"serving .* at (http://127\.0\.0\.1:\d+)/")
TRACEBACK = "Traceback (most recent call last)"
NOT_ANSWERING = (urllib.error.URLError, ConnectionError, TimeoutError)


class LiveServer:
    """``mediasrv serve ROOT ARGS…`` in a session of its own; ``url`` has no trailing slash.

    ``args`` are what follows the root on the command line (give ``--port 0``:
    the server picks a free port and says which). ``token`` is sent with every
    request; ``preexec`` runs in the child before it starts (e.g. resource limits).
    """

    def __init__(self, root: Path, *args: str | Path, token: str | None = None,
                 preexec: Callable[[], None] | None = None, timeout: float = 30.0) -> None:
        # the server reads its settings from MEDIASRV_* too: only the arguments count here
        env = {k: v for k, v in child_env().items() if not k.startswith("MEDIASRV_")}
        self.root, self.token = root, token
        given = [os.fsdecode(a) for a in args]
        self.cache = Path(given[given.index("--cache-dir") + 1]) if "--cache-dir" in given \
            else None  # where it keeps its index, as given on its command line
        # A file, not a pipe: whatever the server wrote before it answered is there to read
        # as soon as the answer is (a pipe needs a reader that may lag behind).
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self._final: str | None = None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasrv", "serve", *map(os.fsdecode, (root, *args))],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, preexec_fn=preexec,
        )
        try:
            found = blocking_until(self._address, "the server to say where it listens", timeout)
        except AssertionError as exc:
            self.stop(signal.SIGKILL)
            raise RuntimeError(f"{exc}; it wrote:\n{self.log_text()[-2000:]}") from exc
        if found is True:
            self.stop(signal.SIGKILL)
            raise RuntimeError(f"mediasrv exited before it listened:\n{self.log_text()}")
        self.url: str = found.group(1)

    def _address(self) -> re.Match[str] | bool | None:
        """The "serving … at URL" line; True once the server exited without it."""
        return LISTENING.search(self.log_text()) or (self.proc.poll() is not None) or None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        """Everything the server wrote so far (stdout and stderr)."""
        if self._final is not None:
            return self._final
        fd = self._log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")

    def _request(self, path: str, method: str, timeout: float) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.url + "/" + path.lstrip("/"), method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.load(exc)

    def get(self, path: str, timeout: float = 10) -> tuple[int, Any]:
        """GET on a new connection; (status, JSON body)."""
        return self._request(path, "GET", timeout)

    def post(self, path: str, timeout: float = 60) -> tuple[int, Any]:
        """POST on a new connection; (status, JSON body)."""
        return self._request(path, "POST", timeout)

    def get_json(self, path: str, timeout: float = 10) -> Any:
        """The JSON body of a GET that must succeed."""
        code, body = self.get(path, timeout)
        assert code == 200, (path, code, body)
        return body

    def status(self) -> dict[str, Any]:
        return dict(self.get_json("/api/status"))

    def _answer(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"mediasrv exited: {self.log_text()[-2000:]}")
        try:
            code, status = self.get("/api/status")
        except NOT_ANSWERING:
            return None
        return status if code == 200 and wanted(status) else None

    def wait_listening(self, timeout: float = 30) -> dict[str, Any]:
        """Wait until the server answers HTTP (its index may still be building)."""
        return blocking_until(lambda: self._answer(lambda s: True), "an answer", timeout)  # type: ignore[no-any-return]

    def wait_idle(self, timeout: float = 60) -> dict[str, Any]:
        """Wait until an index is served and no scan runs or waits; returns the status."""
        def idle(s: dict[str, Any]) -> bool:
            return s["generation"] is not None and not s["scanning"] and s["queued"] is None
        return blocking_until(lambda: self._answer(idle), "an idle server", timeout)  # type: ignore[no-any-return]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` to the whole process group (as a terminal does); the exit status."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise
        finally:
            if self._final is None:
                self._final = self.log_text()
                self._log.close()


def serves(server: LiveServer, generation: int) -> bool:
    """Whether ``server`` answers, serves ``generation`` and scans nothing."""
    try:
        status = server.status()
    except OSError:
        return False
    return status["generation"] == generation and not status.get("scanning")


def leader_args(root: Path, cache: Path, *extra: str) -> list[str | Path]:
    """A leader's arguments: a port of its choosing, no watcher, no periodic rescan."""
    return [root, "--cache-dir", cache, "--port", "0", "--no-watch", "--rescan-interval", "0",
            *extra]


def roles_answering(server: LiveServer, want: set[str], generation: int | None = None) -> bool:
    """Ask on new connections (the kernel spreads them) until every role in ``want`` answered."""
    seen: set[str] = set()
    for _ in range(200):
        try:
            status = server.status()
        except OSError:
            continue
        if generation is None or status["generation"] == generation:
            seen.add(status["role"])
        if seen >= want:
            return True
    return False
