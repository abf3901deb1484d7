"""Where a user can reach this server: the addresses the start-up lines print.

Listening on ``0.0.0.0`` (or ``::``) means "every interface", which is no
address anyone can open: the start-up line names this machine's address on
its network instead, and how to sign in, never the token itself (logs are
often readable by other users).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable

WILDCARDS = frozenset({"0.0.0.0", "::", ""})
# TEST-NET addresses: "connecting" a UDP socket to one sends nothing, but makes
# the system choose the address it would send from (that of the default route).
_PROBES = {socket.AF_INET: "192.0.2.1", socket.AF_INET6: "2001:db8::1"}


def outward_address(family: int = socket.AF_INET) -> str | None:
    """This machine's address on its network (the default route's), or None if it has none."""
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((_PROBES[socket.AddressFamily(family)], 9))
        address = str(s.getsockname()[0])
        if not ipaddress.ip_address(address).is_loopback:
            return address
    with contextlib.suppress(OSError, UnicodeError):
        for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None, family):
            address = str(sockaddr[0])
            if not ipaddress.ip_address(address.partition("%")[0]).is_loopback:
                return address
    return None


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def start_lines(root: str, host: str, port: int, *, token: bool,
                find: Callable[[int], str | None] = outward_address) -> list[str]:
    """What ``mediasrv serve`` prints once it listens: where to open it, and how to sign in."""
    if host in WILDCARDS:
        family = socket.AF_INET6 if host == "::" else socket.AF_INET
        outward = find(family) or (find(socket.AF_INET) if host == "::" else None)
        local = url("127.0.0.1", port)
        if outward is None:
            lines = [f"serving {root} at {local} (this machine has no network address yet)"]
        else:
            lines = [f"serving {root} at {url(outward, port)} (on this machine: {local})"]
        address = url(outward, port) if outward else local
    else:
        address = url(host, port)
        lines = [f"serving {root} at {address}"]
    if token:
        lines.append(
            "sign in there with the access token given to --token or MEDIASRV_TOKEN (not shown "
            f"here); scripts send 'Authorization: Bearer TOKEN' or open {address}?token=TOKEN"
        )
    return lines
