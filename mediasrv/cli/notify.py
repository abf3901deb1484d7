"""systemd's readiness protocol (``Type=notify``): a datagram to ``$NOTIFY_SOCKET``.

``READY=1`` once the server listens, ``STOPPING=1`` when it begins to stop,
``STATUS=…`` for ``systemctl status``. Without ``$NOTIFY_SOCKET`` (not
started by systemd, or not as ``Type=notify``) nothing is sent. A few lines
of the documented protocol (sd_notify(3)), not a dependency.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def notify(*fields: str) -> bool:
    """Send ``fields`` (``"READY=1"``, ``"STATUS=…"``) to systemd; True if sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        log.warning("NOTIFY_SOCKET=%r is not a socket path; not telling systemd", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError as exc:
        # systemd gone or the socket not ours: serving goes on regardless.
        log.warning("cannot tell systemd %s: %s", fields[0], exc)
        return False
    return True
