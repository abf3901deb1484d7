"""Guessing is slow: an address that gets the token wrong 10 times in a minute waits a minute.

Every failed check of something secret counts against the client's address: a
wrong token in the header, ``?token=``, the cookie or the sign-in form, and an
unknown share id (the share routes call ``failed``). After ``LIMIT`` failures
within ``WINDOW`` seconds every request from that address that would check the
token is answered ``429 too_many_attempts`` with ``Retry-After`` until
``WINDOW`` seconds have passed, whatever it carries: were the right token let
through during the wait, the answer would still tell a guess right from wrong.
A request that carries no token at all is no guess and is not counted (a
browser opening a page before signing in). IPv6 clients are counted per /64
network, which one household or one server usually holds whole, as IPv4
clients behind one NAT share one address. The table forgets an address a
``WINDOW`` after its last failure and holds at most ``CAPACITY`` of them, the
longest quiet dropped first, so a flood of addresses cannot grow it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import web

from ..errors import TooManyAttempts
from .forwarded import TrustedProxies

log = logging.getLogger(__name__)

LIMIT = 10  # failures allowed within WINDOW; the next one starts the wait
WINDOW = 60.0  # seconds
CAPACITY = 10_000  # addresses remembered (each a few hundred bytes)
IPV6_PREFIX = 64


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)  # times, oldest first
    until: float = 0.0  # refused until then
    last: float = 0.0


class Attempts:
    """Failed attempts per client address, and which addresses must wait."""

    def __init__(self, trusted_proxies: Iterable[str] = (), *, limit: int = LIMIT,
                 window: float = WINDOW, capacity: int = CAPACITY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.proxies = TrustedProxies(trusted_proxies)
        self.limit = limit
        self.window = window
        self.capacity = capacity
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()  # least recently failed first

    def __len__(self) -> int:
        return len(self._records)

    def client(self, request: web.Request) -> str:
        """The key ``request`` is counted under: its client's address, or /64 network."""
        address = self.proxies.client(request.remote,
                                      request.headers.getall("X-Forwarded-For", ()))
        if isinstance(address, ipaddress.IPv6Address):
            return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
        return str(address)

    def wait(self, client: str) -> float:
        """Seconds ``client`` must still wait before it may try again; 0.0 if none."""
        record = self._records.get(client)
        return max(0.0, record.until - self.clock()) if record is not None else 0.0

    def fail(self, client: str) -> bool:
        """Count a failed attempt of ``client``; True if it must now wait."""
        now = self.clock()
        self._forget(now)
        record = self._records.get(client)
        if record is not None and record.until > now:
            return True  # already waiting: the wait is not made longer
        record = self._records.pop(client, None) or _Record()
        self._records[client] = record  # kept in the order of their last failure
        record.last = now
        record.failures.append(now)
        while record.failures[0] <= now - self.window:
            record.failures.popleft()
        if len(record.failures) < self.limit:
            return False
        record.failures.clear()
        record.until = now + self.window
        log.warning("%d wrong access tokens or links from %s within %gs: refusing it for %gs",
                    self.limit, client, self.window, self.window)
        return True

    def _forget(self, now: float) -> None:
        """Drop addresses quiet for a window (their wait is over too), and the longest
        quiet ones beyond the capacity (one is about to be added)."""
        while self._records:
            oldest = next(iter(self._records.values()))
            if oldest.last > now - self.window and len(self._records) < self.capacity:
                break
            self._records.popitem(last=False)


ATTEMPTS = web.AppKey("attempts", Attempts)


def refuse_if_waiting(request: web.Request) -> None:
    """Raise ``TooManyAttempts`` if the client of ``request`` must wait."""
    attempts = request.app[ATTEMPTS]
    wait = attempts.wait(attempts.client(request))
    if wait > 0:
        raise TooManyAttempts(max(1, math.ceil(wait)))


def failed(request: web.Request) -> None:
    """Count a failed attempt of the client of ``request`` (a wrong token, an unknown
    share id): its next requests are refused once it has had too many."""
    attempts = request.app[ATTEMPTS]
    attempts.fail(attempts.client(request))
