"""After a failed scan: what it was to look at is owed a scan, tried again later.

A fault that ends (a disk freed, a drive back, a cache dir writable again)
ends by itself, and no change that the failed scan was to publish is lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection

from .events import Scan

log = logging.getLogger(__name__)

# The delays before a retry (the last one repeats until a scan succeeds). A
# no-change retry costs one walk of the touched folders.
RETRY_DELAYS = (5.0, 30.0, 120.0, 300.0)


class Retries:
    """Owes the paths of failed scans a scan later; a full scan that works pays every debt.

    ``retry(paths)`` asks for that scan (None: everything) when its time comes.
    """

    def __init__(self, delays: tuple[float, ...],
                 retry: Callable[[Collection[str] | None], None]) -> None:
        self.delays = delays
        self._retry_owed = retry
        self._failures = 0  # failed scans in a row
        self._owed: set[str] | None = set()  # what failed scans were to look at (None: all)
        self._timer: asyncio.TimerHandle | None = None

    def after(self, scan: Scan) -> None:
        """Note how ``scan`` ended; after a failure, plan a retry and set ``scan.retry_at``."""
        if scan.status != "failed":
            self._failures = 0
            if scan.paths is None and self._timer is not None:
                self._timer.cancel()
                self._timer, self._owed = None, set()
            return
        self._failures += 1
        if self._owed is not None:
            if scan.paths is None:
                self._owed = None
            else:
                self._owed.update(scan.paths)
        if not self.delays:
            return
        delay = self.delays[min(self._failures, len(self.delays)) - 1]
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(delay, self._due)
            scan.retry_at = time.time() + delay
        else:
            scan.retry_at = time.time() + max(0.0, self._timer.when()
                                              - asyncio.get_running_loop().time())
        log.info("scan %d failed; trying again in %.0f s", scan.id, scan.retry_at - time.time())

    def _due(self) -> None:
        owed, self._owed, self._timer = self._owed, set(), None
        self._retry_owed(owed)

    def cancel(self) -> None:
        """Plan no more retries (at shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
