"""Snapshots: one immutable generation and the read queries the handlers need.

Two backends answer the same interface (``base.Snapshot``): ``sqlite``
(default) reads the generation file through a small pool of read-only
connections, one round trip per query; ``memory`` holds the same generation in
Python structures. Handlers never know which one they talk to.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..index import db
from .base import Neighbours, Snapshot, file_dict
from .memory import MemorySnapshot
from .sqlite import SqliteSnapshot

__all__ = ["Neighbours", "Snapshot", "file_dict", "open_snapshot"]

async def open_snapshot(path: Path, state: str = "sqlite", *, pool_size: int = 3) -> Snapshot:
    """Open the generation at ``path`` with the ``state`` backend, ready to serve."""
    meta = await asyncio.to_thread(db.validate, path, thorough=False)
    if state == "sqlite":
        snap: Snapshot = SqliteSnapshot(path, meta, pool_size)
    elif state == "memory":
        snap = MemorySnapshot(path, meta)
    else:
        raise ValueError(f"unknown state backend {state!r} (sqlite or memory)")
    await snap.open()
    return snap
