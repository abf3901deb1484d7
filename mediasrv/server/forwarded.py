"""Who the client is: the connection's peer, or what a trusted reverse proxy says it is.

``X-Forwarded-For`` is only believed from a peer in ``--trusted-proxy``: anyone
else could write any address there and so escape a per-address limit. Each
proxy appends the address it was reached from, so the list is read from the
right: the first address that is not itself a trusted proxy is the client
(addresses further left were written by that client and prove nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """``10.0.0.1`` or ``10.0.0.0/8`` (host bits allowed), ``fd00::/8``; ValueError if neither."""
    return ipaddress.ip_network(text.strip().removeprefix("[").removesuffix("]"), strict=False)


def parse_address(text: str) -> Address | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``),
    IPv4-mapped IPv6 taken as IPv4; None if it is none of these."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port; an IPv6 address has two colons or more
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The ``--trusted-proxy`` networks, and the client address they let a request name."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks = tuple(parse_network(n) for n in networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: Iterable[str] = ()) -> Address | str:
        """The client of a connection from ``peer`` carrying these ``X-Forwarded-For`` headers.

        The peer itself unless it is trusted; then the right-most forwarded
        address that is not trusted, or the last trusted one if every hop is
        trusted or the next one is no address (then the hop that wrote it is
        all we know). The text of ``peer`` if it is no address (a Unix socket).
        """
        address = parse_address(peer or "")
        if address is None or not self.trusts(address):
            return address if address is not None else (peer or "")
        hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            found = parse_address(hop)
            if found is None:
                break
            address = found
            if not self.trusts(found):
                break
        return address
