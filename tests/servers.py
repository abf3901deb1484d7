"""`mediasrv serve` in a child process, as a user runs it, for tests of several servers at once."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Served:
    """One `mediasrv serve …` process (in a session of its own) and its address."""

    def __init__(self, *args: str | Path, timeout: float = 30.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASRV_")}
        self.args = [str(a) for a in args]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasrv", "serve", *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, start_new_session=True,
        )
        self.log: list[str] = []
        self._found = threading.Event()
        self.url = ""
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        if not self._found.wait(timeout) or not self.url:
            self.stop(signal.SIGKILL)
            raise RuntimeError("the server never said where it listens:\n" + "".join(self.log))

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            self.log.append(line)
            if not self.url and (match := re.search(r"at (http://127\.0\.0\.1:\d+/)", line)):
                self.url = match.group(1)
                self._found.set()
        self._found.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        """GET on a new connection; (status, JSON body)."""
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def post(self, path: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(self.url + path.lstrip("/"), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def status(self) -> dict[str, Any]:
        return self.get("/api/status")[1]

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
            self._drainer.join(5)
            if self.proc.stderr is not None:
                self.proc.stderr.close()


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Call ``check`` until it returns something true; fail after ``timeout`` (a deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def serves(server: Served, generation: int) -> bool:
    try:
        status = server.status()
    except OSError:
        return False
    return status["generation"] == generation and not status.get("scanning")


def leader_args(root: Path, cache: Path, *extra: str) -> list[str | Path]:
    return [root, "--cache-dir", cache, "--port", "0", "--no-watch", "--rescan-interval", "0",
            *extra]
