"""Watching one folder for a few names, and knowing when watching cannot work.

``DirWatch`` is inotify (``inotify_simple``, as the library's watch process
uses) on a single folder, read on the event loop: no thread,
no debounce, so a rename is seen the moment it happens (a follower watches its
cache dir for ``current.db`` this way). Where inotify would not see changes
made by another host (NFS, SMB, FUSE and other network or cluster
filesystems, found in ``/proc/self/mountinfo``) the caller polls instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inotify_simple import INotify

log = logging.getLogger(__name__)

# Filesystems where inotify does not see what another host writes.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "9p", "afs", "ceph", "glusterfs",
    "lustre", "gpfs", "beegfs", "ocfs2", "gfs2", "virtiofs", "fuse",
})


def filesystem_type(path: Path, mountinfo: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (``ext4``, ``nfs4``, ``fuse.sshfs``…).

    Read from ``/proc/self/mountinfo`` (or the text ``mountinfo``): the mount
    whose mount point is the longest prefix of the real path. None if unknown.
    """
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    real = os.path.realpath(path)
    best, found = -1, None
    for line in mountinfo.splitlines():
        fields, sep, rest = line.partition(" - ")
        parts = fields.split()
        if not sep or len(parts) < 5:
            continue
        point = _unescape(parts[4])
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, found = len(point), rest.split()[0] if rest.split() else None
    return found


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def needs_polling(fstype: str | None) -> bool:
    """Whether inotify would miss changes another host makes on ``fstype``."""
    if fstype is None:
        return False
    return fstype in NETWORK_FILESYSTEMS or fstype.startswith("fuse.")


class DirWatch:
    """inotify on one folder, read on the event loop: calls ``wake`` when a name of interest
    is created, renamed or deleted there, or when the watch itself is lost."""

    def __init__(self, folder: Path, wants: Callable[[str], bool],
                 wake: Callable[[], None]) -> None:
        self.folder = Path(folder)
        self.wants = wants
        self.wake = wake
        self.fd: int | None = None  # the inotify descriptor while watching
        self._notify: INotify | None = None
        # Event flags (set in start): the watch itself is gone; events were lost.
        self._lost = self._overflow = 0
        self.alive = False

    def start(self) -> None:
        """Start watching; raises OSError if inotify cannot be used here."""
        try:
            from inotify_simple import INotify, flags
        except ImportError as exc:  # not Linux: the caller polls
            raise OSError(f"no inotify: {exc}") from None
        notify = INotify(nonblocking=True)
        try:
            notify.add_watch(self.folder, flags.CREATE | flags.DELETE | flags.MOVED_FROM
                             | flags.MOVED_TO | flags.DELETE_SELF | flags.MOVE_SELF
                             | flags.ONLYDIR)
        except OSError:
            notify.close()
            raise
        self._notify, self.fd, self.alive = notify, notify.fileno(), True
        self._lost = flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT
        self._overflow = flags.Q_OVERFLOW  # a name may be among the lost events: wake
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        assert self._notify is not None
        wake = False
        try:
            events = self._notify.read(timeout=0)
        except OSError as exc:
            log.warning("reading inotify events failed: %s", exc)
            self.close()
            events, wake = [], True
        for event in events:
            if event.mask & self._lost:
                self.alive = False  # the folder is gone: the follower watches again later
                wake = True
            elif event.mask & self._overflow or self.wants(event.name):
                wake = True
        if wake:
            self.wake()

    def close(self) -> None:
        self.alive = False
        if self._notify is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._notify.fileno())
            self._notify.close()
            self._notify, self.fd = None, None
