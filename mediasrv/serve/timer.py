"""The periodic rescan: the backstop for filesystem events that were missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

# Rescan period when the watcher has given up and --rescan-interval is 0 or
# longer: a no-change rescan of 100k files costs about a second of one
# low-priority core, so every five minutes is cheap and keeps staleness bounded.
FALLBACK_INTERVAL = 300.0


class RescanTimer:
    """The one interval timer: every --rescan-interval seconds, and at least every
    ``fallback`` seconds once the watcher has given up."""

    def __init__(self, interval: float, fallback: float = FALLBACK_INTERVAL) -> None:
        self.interval = interval  # 0: never
        self.fallback = fallback
        self.watcher_failed = False
        self._changed = asyncio.Event()

    @property
    def covered(self) -> bool:
        """Whether --rescan-interval alone is at least as frequent as the fallback."""
        return 0 < self.interval <= self.fallback

    @property
    def period(self) -> float | None:
        if self.watcher_failed and not self.covered:
            return self.fallback
        return self.interval or None

    def watcher_gave_up(self) -> float:
        """Rescan at the fallback period from now on; returns the period in force."""
        self.watcher_failed = True
        self._changed.set()
        return self.period or self.fallback

    async def run(self, request: Callable[[str], object]) -> None:
        """Call ``request`` with the reason at every period, until cancelled."""
        while True:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), self.period)
            except TimeoutError:
                covered = self.covered or not self.watcher_failed
                with contextlib.suppress(RuntimeError):  # shutting down
                    request("interval" if covered else "interval (watcher failed)")
