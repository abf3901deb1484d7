"""Which names this server answers to: the defence against DNS rebinding.

A page on ``http://evil.example:8080`` whose name the attacker re-points at
127.0.0.1 is, to the browser, same-origin with this server, so it could read
the whole library. Its requests still carry ``Host: evil.example:8080``:
without a token, only loopback names and the names the user allowed pass.

Loopback means ``localhost``, an IPv4 literal in 127.0.0.0/8 or ``[::1]``,
with any port, compared case-insensitively. Deliberately not loopback:
``*.localhost`` and ``localhost.`` (some resolvers send those to DNS, where
an attacker can answer), ``0.0.0.0`` (browsers on Linux and macOS connect it
to this machine: the "0.0.0.0 day" attack), and IPv4-mapped or zoned IPv6.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

_IPV6_LOOPBACK = ipaddress.IPv6Address("::1")
_COMMON = frozenset({"localhost", "127.0.0.1", "[::1]"})
# A name as --allowed-host takes it: DNS labels (underscores for container
# names), an IPv4 literal, or a bracketed IPv6 literal; no port, no wildcard.
_NAME = re.compile(r"[a-z0-9_]([a-z0-9_.-]*[a-z0-9_.])?|\[[0-9a-f:.]+\]")


def host_name(authority: str) -> str | None:
    """The name part of a ``Host`` value (``name``, ``name:port``, ``[v6]:port``),
    lower-cased, or None if it is malformed (a bare IPv6 literal, a port that is
    not a number)."""
    authority = authority.lower()
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        name, rest = authority[: end + 1], authority[end + 1 :]
        try:
            name = f"[{ipaddress.IPv6Address(name[1:-1])}]"
        except ValueError:
            return None
    else:
        name, colon, port = authority.partition(":")
        rest = colon + port
    if rest and not (rest[0] == ":" and rest[1:].isdigit() and rest[1:].isascii()):
        return None
    return name or None


def is_loopback(name: str) -> bool:
    """Whether ``name`` (as ``host_name`` returns it) always means this machine."""
    if name in _COMMON:
        return True
    if name.startswith("["):
        return ipaddress.IPv6Address(name[1:-1]) == _IPV6_LOOPBACK
    try:
        return ipaddress.IPv4Address(name).is_loopback
    except ValueError:
        return False


def normalize_allowed(name: str) -> str:
    """An ``--allowed-host`` entry in the form ``host_name`` gives; ValueError if it
    is not a host name or address."""
    text = name.strip().lower()
    if ":" in text and not text.startswith("["):
        # a bare IPv6 literal is fine here: there is no port to confuse it with
        with contextlib.suppress(ValueError):
            return f"[{ipaddress.IPv6Address(text)}]"
    normal = host_name(text) if _NAME.fullmatch(text) else None
    if normal is not None:
        return normal
    base, colon, port = text.rpartition(":")
    if colon and port.isdigit() and _NAME.fullmatch(base):
        raise ValueError(f"{name!r} has a port; give the name alone (any port is allowed)")
    raise ValueError(f"{name!r} is not a host name or IP address (no wildcards, no port)")


class HostPolicy:
    """The names requests may carry: loopback, plus the user's ``--allowed-host`` names."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = frozenset(normalize_allowed(name) for name in allowed)

    def allows(self, authority: str) -> bool:
        """Whether a ``Host`` value (``name[:port]``) names this server."""
        name = host_name(authority)
        return name is not None and (name in self.allowed or is_loopback(name))

    def allows_origin(self, origin: str) -> bool:
        """Whether an ``Origin`` is ``http(s)://`` plus an allowed name, any port."""
        scheme, sep, authority = origin.partition("://")
        return (sep == "://" and scheme.lower() in ("http", "https") and "/" not in authority
                and "@" not in authority and self.allows(authority))


class RefusalLog:
    """One WARNING line per refused Host, not one per request.

    A hostile page can send requests as fast as the browser allows. Within one
    ``window`` of seconds, the first refusal of each distinct Host is logged, up
    to ``max_lines``; the rest are counted, and the count is logged as one line
    with the first refusal after the window ends.
    """

    def __init__(self, *, window: float = 60.0, max_lines: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.max_lines = max_lines
        self.clock = clock
        self.started = clock()
        self.logged: set[str] = set()
        self.suppressed = 0

    def refused(self, host: str | None, method: str, path: str) -> None:
        now = self.clock()
        if now - self.started >= self.window:
            if self.suppressed:
                log.warning("%d more requests with a refused Host were not logged "
                            "in the last %.0f s", self.suppressed, now - self.started)
            self.started, self.logged, self.suppressed = now, set(), 0
        key = "" if host is None else host
        if key in self.logged or len(self.logged) >= self.max_lines:
            self.suppressed += 1
            return
        self.logged.add(key)
        why = ("no Host header" if host is None
               else f"Host {host[:200]!a} is neither loopback nor an --allowed-host")
        log.warning("refused %s %a: %s", method, path[:200], why)
