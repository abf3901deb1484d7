"""The server's child processes (the scan, the watch): how they start and how they report.

Each child is ``python -m mediasrv.<module>`` and reports as JSON lines on
its stdout, one object per line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def child_env() -> dict[str, str]:
    """This environment, with this copy of mediasrv importable (even uninstalled)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p
    )
    return env


async def json_lines(stream: asyncio.StreamReader, who: str) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects ``who`` writes, one a line; anything else is logged and passed over."""
    async for line in stream:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if isinstance(message, dict):
            yield message
        else:
            log.warning("%s said: %r", who, line[:200])
