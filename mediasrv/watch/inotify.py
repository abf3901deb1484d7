"""A recursive inotify watch that carries every name exactly (Linux, on inotify_simple).

watchfiles (1.3) turns each event's path into a Rust ``String`` and ends the
whole watch on a name that is not UTF-8, even for a plain read of such a
file. Here a name stays what the kernel gave (an ``os.fsdecode`` string,
which ``os.fsencode`` turns back into the same bytes), and reads are not even
asked for: only what can change the index wakes the watch.

One watch per folder (inotify is not recursive): hidden folders and the
ignored ones (the cache dir) get none. A folder that appears is watched at
once, and its own path is reported, which stands for everything in it (files
made in it before its watch was added included).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable

from inotify_simple import Event, INotify, flags

# Entries appearing, vanishing, renamed, written or touched (mtime is indexed).
# Not IN_ACCESS, IN_OPEN or IN_CLOSE_NOWRITE: serving a file is not a change.
MASK = (
    flags.CREATE | flags.DELETE | flags.MOVED_FROM | flags.MOVED_TO | flags.MODIFY
    | flags.CLOSE_WRITE | flags.ATTRIB | flags.DELETE_SELF | flags.MOVE_SELF
    | flags.ONLYDIR | flags.DONT_FOLLOW | flags.EXCL_UNLINK
)
# A full watch table or kernel memory: the watch cannot be complete, say so.
_FATAL = (errno.ENOSPC, errno.ENOMEM, errno.EMFILE)


class RootGone(OSError):
    """The root folder was removed, moved away or unmounted."""


def join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


class TreeWatch:
    """Every visible folder under ``root`` watched by one inotify instance."""

    def __init__(self, root: str, ignore: Iterable[str] = ()) -> None:
        self.root = os.path.realpath(root)
        prefix = self.root.rstrip("/") + "/"
        # The ignored folders that lie inside the root, relative to it.
        self._ignore = {
            p[len(prefix):] for p in map(os.path.realpath, ignore) if p.startswith(prefix)
        }
        self._inotify: INotify | None = None
        self._dirs: dict[int, str] = {}  # watch descriptor -> folder, relative ("" is the root)

    def start(self) -> None:
        """Watch the whole tree; raises OSError if the root cannot be watched."""
        self._inotify = INotify()
        try:
            self._add_tree("")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        self._dirs.clear()

    def fileno(self) -> int:
        assert self._inotify is not None, "start() first"
        return self._inotify.fileno()

    @property
    def folders(self) -> int:
        """How many folders are watched."""
        return len(self._dirs)

    def read(self) -> set[str] | None:
        """The paths changed since the last read (without waiting); None after an overflow."""
        assert self._inotify is not None, "start() first"
        return self.handle(self._inotify.read(timeout=0))

    def handle(self, events: Iterable[Event]) -> set[str] | None:
        """The paths these events name, relative to the root, ``/``-separated.

        None when the kernel's queue overflowed (events were lost, so nobody
        can say what changed); the watches are then laid anew over the tree.
        Raises RootGone when the root itself goes.
        """
        changed: set[str] = set()
        overflow = False
        for event in events:
            if event.mask & flags.Q_OVERFLOW:
                overflow = True
                continue
            folder = self._dirs.get(event.wd)
            if folder is None:  # a watch already dropped (its IN_IGNORED, late events)
                continue
            if event.mask & (flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT):
                if folder == "":
                    raise RootGone(errno.ENOENT, "the root folder was removed or moved", self.root)
                if event.mask & flags.IGNORED:
                    del self._dirs[event.wd]
                continue  # the parent's watch names the change
            name = event.name
            if not name or name[0] == ".":
                continue
            rel = join(folder, name)
            if self._ignored(rel):
                continue
            changed.add(rel)
            if event.mask & flags.ISDIR:
                if event.mask & flags.MOVED_FROM:
                    self._drop_tree(rel)
                elif event.mask & flags.CREATE:
                    self._add_tree(rel, changed)
                elif event.mask & flags.MOVED_TO:  # named as one: its files were there before
                    self._add_tree(rel)
        if overflow:
            self._resync()
            return None
        return changed

    def _ignored(self, rel: str) -> bool:
        return any(rel == p or rel.startswith(p + "/") for p in self._ignore)

    def _add_tree(self, top: str, found: set[str] | None = None) -> None:
        """Watch ``top`` (relative) and every visible folder under it.

        ``found`` (a folder that has just been made) gets every visible path under it:
        what was made in it before its watch was added sends no event of its own
        (``mkdir -p a/b && touch a/b/c`` outruns the watcher, more so on a busy machine).
        """
        assert self._inotify is not None
        stack = [top]
        while stack:
            rel = stack.pop()
            path = os.path.join(self.root, rel) if rel else self.root
            try:
                wd = self._inotify.add_watch(path, MASK)
            except OSError as exc:
                if rel == "" or exc.errno in _FATAL:
                    raise
                continue  # vanished, replaced by a file, or unreadable: nothing to watch
            self._dirs[wd] = rel
            try:
                with os.scandir(path) as entries:
                    for entry in entries:
                        if entry.name[0] == ".":
                            continue
                        child = join(rel, entry.name)
                        if self._ignored(child):
                            continue
                        if found is not None:
                            found.add(child)
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(child)
            except OSError:
                continue  # vanished or unreadable since its watch was added

    def _drop_tree(self, top: str) -> None:
        """Stop watching ``top`` and what is under it (it was moved; MOVED_TO re-adds it)."""
        assert self._inotify is not None
        for wd, rel in list(self._dirs.items()):
            if rel == top or rel.startswith(top + "/"):
                del self._dirs[wd]
                with contextlib.suppress(OSError):  # already gone with its folder
                    self._inotify.rm_watch(wd)

    def _resync(self) -> None:
        """After lost events: watch the tree as it is now, drop watches on what is gone."""
        assert self._inotify is not None
        before = self._dirs
        self._dirs = {}
        self._add_tree("")  # an inode already watched keeps its descriptor
        for wd in before.keys() - self._dirs.keys():
            with contextlib.suppress(OSError):
                self._inotify.rm_watch(wd)
