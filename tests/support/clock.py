"""Time that moves only when a test says so (for code that takes a ``clock``)."""

from __future__ import annotations


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
