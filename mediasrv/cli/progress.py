"""``mediasrv scan``'s progress: a bar rewritten in place on a terminal, plain lines otherwise."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from typing import Any, TextIO


class ProgressLine:
    """Scan progress: a bar rewritten in place on a terminal, plain lines otherwise.

    On a terminal: ``probing   [#####.....]  412/1,000  12s``, at most ten
    updates a second. Elsewhere (a log, a pipe): one line when a phase starts,
    and one every ``every`` seconds while it lasts, so a long scan shows life.
    """

    BAR = 24

    def __init__(self, stream: TextIO, *, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every
        self.clock = clock
        self.phase: str | None = None
        self.unsaid = False  # the phase began, but had nothing to show yet
        self.started = clock()
        self.last_write = float("-inf")
        self.hooked: list[logging.Handler] = []

    def __call__(self, event: dict[str, Any]) -> None:
        phase, now = str(event.get("phase")), self.clock()
        new_phase = phase != self.phase
        self.phase = phase
        finished = event.get("done") is not None and event.get("done") == event.get("total")
        if not event.get("files") and event.get("total") is None:
            self.unsaid = self.unsaid or new_phase  # a phase that has counted nothing yet
            return
        new_phase, self.unsaid = new_phase or self.unsaid, False
        if self.tty:
            if not self.hooked:  # log lines would otherwise land in the middle of the bar
                self.hooked = [h for h in logging.getLogger().handlers
                               if getattr(h, "stream", None) is self.stream]
                for handler in self.hooked:
                    handler.addFilter(self._clear_for_log)
            if new_phase or finished or now - self.last_write >= 0.1:
                width = shutil.get_terminal_size((80, 24)).columns
                self.stream.write("\r\x1b[K" + self.line(event, now)[: width - 1])
                self.stream.flush()
                self.last_write = now
        elif new_phase or (finished and event.get("total")) or now - self.last_write >= self.every:
            self.stream.write(self.line(event, now) + "\n")
            self.stream.flush()
            self.last_write = now

    def line(self, event: dict[str, Any], now: float) -> str:
        """One line of text for ``event``: the phase, a bar when its total is known, counts."""
        phase, files = str(event.get("phase")), int(event.get("files") or 0)
        done, total = event.get("done"), event.get("total")
        elapsed = f"{now - self.started:.0f}s"
        if isinstance(done, int) and isinstance(total, int):
            if self.tty:
                filled = self.BAR * done // total if total else self.BAR
                bar = "[" + "#" * filled + "." * (self.BAR - filled) + "]"
                return f"{phase:<10} {bar} {done:,}/{total:,}  {elapsed}"
            return f"{phase}: {done:,}/{total:,} files  {elapsed}"
        if self.tty:
            return f"{phase:<10} {files:,} files  {elapsed}"
        return f"{phase}: {files:,} files  {elapsed}"

    def _clear_for_log(self, record: logging.LogRecord) -> bool:
        self.stream.write("\r\x1b[K")
        self.last_write = float("-inf")  # redraw the bar with the next event
        return True

    def done(self) -> None:
        for handler in self.hooked:
            handler.removeFilter(self._clear_for_log)
        self.hooked = []
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
