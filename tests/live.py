"""A real ``mediasrv serve`` in its own process, for tests that need one (fuzzing, faults).

The server runs exactly as a user runs it (the CLI, its own event loop, its
scan worker and watcher), on a free loopback port; its log goes to a file the
test reads afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mediasrv.children import child_env

SERVING = re.compile(rb"serving .* at (http://127\.0\.0\.1:\d+)/")
TRACEBACK = "Traceback (most recent call last)"


class LiveServer:
    """``mediasrv serve ROOT`` on 127.0.0.1 with a port of its choosing."""

    def __init__(self, root: Path, cache: Path, log: Path, *args: str,
                 preexec: Callable[[], None] | None = None) -> None:
        self.root, self.cache, self.log = root, cache, log
        self._log_file = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mediasrv", "serve", os.fsdecode(root), "--port", "0",
             "--cache-dir", os.fsdecode(cache), "--log-level", "info", *args],
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=self._log_file,
            env=child_env(), preexec_fn=preexec,
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = SERVING.search(self.log.read_bytes())
            if found:
                return found.group(1).decode()
            if self.proc.poll() is not None:
                raise RuntimeError(f"mediasrv exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise TimeoutError(f"mediasrv did not start: {self.log.read_text()[-2000:]}")

    def get(self, path: str, timeout: float = 10) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return json.loads(resp.read())

    def wait_idle(self, timeout: float = 60) -> dict[str, Any]:
        """Wait until an index is served and no scan runs or waits; returns the status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get("/api/status")
            if status["generation"] is not None and not status["scanning"] \
                    and status["queued"] is None:
                return status  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise TimeoutError("the server did not settle")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()
        return self.proc.returncode
