"""Share links: one tag shown to whoever holds a link ``/s/{id}/``, until it expires or is revoked.

A share is user data, kept in the user database (``store.py``, table
``shares``) beside the stars: no scan, ``scan --full`` or deleted generation
touches it, and it outlives restarts. Only the leader writes shares; a
follower reads them, and notices the leader's writes (a new file, by
``store.py``) before it answers a share's request: a revoked link closes on
every server at once.

The id is the credential: ``secrets.token_urlsafe(ID_BYTES)`` (192 random
bits). It is looked up by its SHA-256 digest and then compared in constant
time, so how long a lookup takes says nothing about how close a guess was.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import MediasrvError
from ..names import db_text, from_db
from . import store

ID_BYTES = 24  # 192 bits, 32 URL-safe characters


class ShareNotFound(MediasrvError):
    """No share has this id (never made, or revoked): nothing says which."""

    code = "share_not_found"
    status = 404

    def __init__(self) -> None:
        super().__init__("no share has this link: it was revoked, or never existed")


class ShareExpired(MediasrvError):
    code = "share_expired"
    status = 410

    def __init__(self) -> None:
        super().__init__("this share link has expired")


class ShareTagGone(MediasrvError):
    """The shared tag is not in the library now (a renamed folder); it answers again if it
    comes back."""

    code = "share_tag_gone"
    status = 404

    def __init__(self) -> None:
        super().__init__("what this link shares is not in the library at the moment")


@dataclass(frozen=True)
class Share:
    id: str
    tag: str
    created_at: int  # Unix seconds
    expires_at: int | None  # Unix seconds; None: never
    download: bool

    @property
    def url(self) -> str:
        return f"/s/{self.id}/"

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "tag": self.tag,
                "created_at": _iso(self.created_at),
                "expires_at": None if self.expires_at is None else _iso(self.expires_at),
                "download": self.download}


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _digest(share_id: str) -> bytes:
    return hashlib.sha256(share_id.encode("utf-8", "surrogateescape")).digest()


class Shares:
    """Every share, in memory by the digest of its id, written through to the user database."""

    def __init__(self, path: Path | store.UserStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = path if isinstance(path, store.UserStore) else store.UserStore(path)
        self.path = self.store.path
        self.clock = clock  # what "now" is for expiry (a test moves it on)
        self._by_digest: dict[bytes, Share] = {}
        self._lock = asyncio.Lock()
        self._seen: store.Identity | None = None
        self._rereading: asyncio.Task[None] | None = None
        # Digests of ids this process saw and then saw go: a page still open on a revoked
        # link asking for its thumbnails is no guess (``was_revoked``).
        self._revoked: set[bytes] = set()

    async def open(self) -> None:
        """Read every share (the stars, opened first, created or upgraded the file)."""
        async with self._lock:
            await self._reload()

    async def _reload(self) -> None:
        shares, self._seen = await asyncio.to_thread(self.store.read, _read_all, [])
        now = {_digest(share.id): share for share in shares}
        self._revoked |= self._by_digest.keys() - now.keys()
        self._by_digest = now

    async def refresh(self) -> None:
        """Read the shares again if the file changed (the leader wrote it): a stat, no more,
        when it did not."""
        if self.store.identity() == self._seen:
            return
        async with self._lock:
            if self.store.identity() != self._seen:
                await self._reload()

    def still_open(self, share_id: str) -> bool:
        """Whether the share is there and not expired, as this process knows it now (for a
        long download, asked between members: no disk read here). A change of the file
        starts a re-read, which the next call sees."""
        if self.store.identity() != self._seen and (
                self._rereading is None or self._rereading.done()):
            self._rereading = asyncio.get_running_loop().create_task(self.refresh())
        found = self.find(share_id)
        return found is not None and not found.expired(self.clock())

    def all(self) -> list[Share]:
        """Every share, newest first."""
        return sorted(self._by_digest.values(), key=lambda s: (-s.created_at, s.id))

    def find(self, share_id: str) -> Share | None:
        """The share with this id, else None; the comparison takes constant time."""
        found = self._by_digest.get(_digest(share_id))
        if found is None or not hmac.compare_digest(_digest(found.id), _digest(share_id)):
            return None
        return found

    async def create(self, tag: str, expires_in: int | None, download: bool) -> Share:
        now = int(self.clock())
        share = Share(secrets.token_urlsafe(ID_BYTES), tag, now,
                      None if expires_in is None else now + expires_in, download)
        async with self._lock, self.store.writing:
            await asyncio.to_thread(self.store.write, lambda conn: _insert(conn, share))
            self._by_digest[_digest(share.id)] = share
        return share

    async def revoke(self, share_id: str) -> bool:
        """Delete the share; False if there was none with this id."""
        found = self.find(share_id)
        if found is None:
            return False
        async with self._lock, self.store.writing:
            await asyncio.to_thread(self.store.write, lambda conn: _delete(conn, found.id))
            self._by_digest.pop(_digest(found.id), None)
            self._revoked.add(_digest(found.id))
        return True

    def was_revoked(self, share_id: str) -> bool:
        """Whether this id named a share that this process saw revoked (since it started)."""
        return _digest(share_id) in self._revoked


def _read_all(conn: sqlite3.Connection) -> list[Share]:
    if not store.has_table(conn, "shares"):  # a file the leader has not upgraded yet
        return []
    rows = conn.execute("SELECT id, coalesce(tag_bytes, tag), created_at, expires_at,"
                        " download FROM shares").fetchall()
    return [Share(i, from_db(t), c, e, bool(d)) for i, t, c, e, d in rows]


def _insert(conn: sqlite3.Connection, share: Share) -> None:
    shown, raw = db_text(share.tag)
    conn.execute("INSERT INTO shares (id, tag, tag_bytes, created_at, expires_at, download)"
                 " VALUES (?, ?, ?, ?, ?, ?)",
                 (share.id, shown, raw, share.created_at, share.expires_at, int(share.download)))


def _delete(conn: sqlite3.Connection, share_id: str) -> None:
    conn.execute("DELETE FROM shares WHERE id = ?", (share_id,))
