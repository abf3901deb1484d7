"""The one way tests wait: on a condition, with a deadline (never a fixed sleep, then an assert)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WAIT = 30.0  # generous bound for a change to land; the usual case is about a second
POLL = 0.02  # how often the condition is looked at


def until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Wait until ``check()`` returns something true, and return that; fail after ``timeout``.

    In a coroutine (an event loop runs) it returns an awaitable and ``check`` may be
    ``async``: ``await until(...)``; in plain code, a thread, or a sync test it blocks.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return blocking_until(check, what, timeout)
    return _async_until(check, what, timeout)


def blocking_until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """:func:`until` in plain code, even when called where an event loop runs."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last saw {value!r}")
        time.sleep(POLL)


async def _async_until(check: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last saw {value!r}")
        await asyncio.sleep(POLL)


def process_ended(pid: int) -> bool:
    """Whether process ``pid`` has ended (gone, or a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")
