"""The walk: what it indexes, what it passes over, and what never ends it."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from mediasrv.scan import walk as walk_module
from mediasrv.scan.walk import WalkStats, walk

from .support import make_tree


def paths(root: Path, **kwargs: object) -> list[str]:
    return sorted(r.path for r in walk(root, **kwargs))  # type: ignore[arg-type]


def test_records_carry_relative_path_size_and_mtime(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a/b/c.JPG": b"12345"}, mtime=1_600_000_000)
    (rec,) = list(walk(tmp_path))
    assert (rec.path, rec.name, rec.ext, rec.kind, rec.size, rec.mtime_ns) == (
        "a/b/c.JPG",
        "c.JPG",
        "jpg",
        "image",
        5,
        1_600_000_000 * 10**9,
    )


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    make_tree(tmp_path, {".hidden.jpg": "", ".git/x.jpg": "", "a/.thumbs/y.jpg": "", "a/z.jpg": ""})
    assert paths(tmp_path) == ["a/z.jpg"]


def test_cache_dir_inside_root_is_skipped(tmp_path: Path) -> None:
    make_tree(tmp_path, {"cache/gen-000001.db": "", "pics/a.jpg": ""})
    assert paths(tmp_path, exclude=[tmp_path / "cache"]) == ["pics/a.jpg"]


def test_symlink_leading_outside_the_root_is_not_followed(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"a.jpg": ""})
    outside = make_tree(tmp_path / "secret", {"passwd.jpg": ""})
    os.symlink(outside, root / "escape")
    os.symlink(outside / "passwd.jpg", root / "file-escape.jpg")
    stats = WalkStats()
    assert paths(root, stats=stats) == ["a.jpg"]
    assert stats.outside_links == 2


def test_symlinks_inside_the_root_are_followed_once(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "lib", {"real/a.jpg": "", "b.jpg": "xy"})
    os.symlink(root / "real", root / "alias")  # the same folder twice
    os.symlink(root, root / "real" / "loop")  # a cycle
    os.symlink(root / "b.jpg", root / "c.jpg")
    stats = WalkStats()
    found = {r.path: r.size for r in walk(root, stats=stats)}
    assert found in (
        {"real/a.jpg": 0, "b.jpg": 2, "c.jpg": 2},
        {"alias/a.jpg": 0, "b.jpg": 2, "c.jpg": 2},
    )
    assert stats.loops == 2


def test_dangling_symlink_is_counted_not_fatal(tmp_path: Path) -> None:
    root = make_tree(tmp_path, {"a.jpg": ""})
    os.symlink(root / "missing.jpg", root / "dangling.jpg")
    stats = WalkStats()
    assert paths(root, stats=stats) == ["a.jpg"]
    assert stats.vanished == 1


def test_names_that_are_not_utf8_are_carried_byte_exact(tmp_path: Path) -> None:
    make_tree(tmp_path, {b"caf\xe9/\xff\xfe.jpg": b"x"})
    stats = WalkStats()
    (rec,) = list(walk(tmp_path, stats=stats))
    assert os.fsencode(rec.path) == b"caf\xe9/\xff\xfe.jpg"
    assert (tmp_path / rec.path).read_bytes() == b"x"
    assert stats.undecodable == 1


def test_fifos_and_sockets_are_not_media(tmp_path: Path) -> None:
    make_tree(tmp_path, {"a.jpg": ""})
    os.mkfifo(tmp_path / "pipe.mp3")
    assert paths(tmp_path) == ["a.jpg"]


def fail_listing(monkeypatch: pytest.MonkeyPatch, folder: str, exc: OSError) -> None:
    """Make listing any folder named ``folder`` raise ``exc``."""
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.path.basename(path) == folder:
            raise exc
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", scandir)


def test_unreadable_folder_is_counted_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"ok/a.jpg": "", "locked/b.jpg": ""})
    fail_listing(monkeypatch, "locked", PermissionError(13, "Permission denied"))
    stats = WalkStats()
    assert paths(tmp_path, stats=stats) == ["ok/a.jpg"]
    assert (stats.unreadable, stats.skipped) == (1, 1)
    assert stats.examples == ["unreadable: locked (Permission denied)"]


def test_file_vanishing_between_listing_and_stat_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a.jpg": "", "gone.jpg": ""})
    real_scandir = os.scandir

    class Listing:
        def __init__(self, path: str) -> None:
            self.entries = list(real_scandir(path))

        def __enter__(self) -> object:
            os.unlink(tmp_path / "gone.jpg")  # vanishes after it was listed
            return iter(self.entries)

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(walk_module.os, "scandir", Listing)
    stats = WalkStats()
    assert paths(tmp_path, stats=stats) == ["a.jpg"]
    assert stats.vanished == 1


def test_folder_vanishing_mid_walk_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path, {"a/x.jpg": "", "b/y.jpg": ""})
    fail_listing(monkeypatch, "b", FileNotFoundError(2, "No such file or directory"))
    stats = WalkStats()
    assert paths(tmp_path, stats=stats) == ["a/x.jpg"]
    assert stats.vanished == 1


@pytest.mark.process
def test_unreadable_folder_as_an_unprivileged_user() -> None:
    """The real thing: a folder 'nobody' may not list, walked as 'nobody'.

    The interpreter starts as root (it may live under /root) and drops its
    privileges before it walks; the tree lives in a world-readable temp dir.
    """
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to an unprivileged user")
    import shutil
    import subprocess
    import sys
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="mediasrv-nobody-"))
    try:
        root = make_tree(base / "lib", {"ok/a.jpg": "", "locked/b.jpg": ""})
        for p in (base, root, root / "ok"):
            p.chmod(0o755)
        (root / "locked").chmod(0o700)
        code = (
            "import os; from mediasrv.scan.walk import walk, WalkStats;"
            "os.setgid(65534); os.setuid(65534); s = WalkStats();"
            f"print(sorted(r.path for r in walk({str(root)!r}, stats=s)), s.unreadable)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "['ok/a.jpg'] 1"
    finally:
        shutil.rmtree(base)


def test_each_folder_opened_for_its_stats_is_closed_whatever_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder is opened to stat its files by name: listed, unreadable, vanished or failing
    with an error the walk does not count, it is closed again."""
    make_tree(tmp_path, {f"d{i}/f{j}.jpg": "" for i in range(20) for j in range(3)}
              | {"locked/x.jpg": "", "gone/y.jpg": ""})
    open_fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    before = open_fds()
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        name = os.path.basename(path)
        if name == "locked":
            raise PermissionError(13, "Permission denied")
        if name == "gone":
            raise FileNotFoundError(2, "No such file or directory")
        if name == "d7":
            raise RuntimeError("not an OSError")
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", scandir)
    stats = WalkStats()
    with pytest.raises(RuntimeError, match="not an OSError"):
        paths(tmp_path, stats=stats)
    assert open_fds() == before
    monkeypatch.setattr(walk_module.os, "scandir", lambda path: (
        scandir(path) if os.path.basename(path) != "d7" else real_scandir(path)))
    stats = WalkStats()
    assert len(paths(tmp_path, stats=stats)) == 60
    assert (stats.unreadable, stats.vanished, stats.files) == (1, 1, 60)
    assert open_fds() == before


def test_what_an_entry_is_comes_from_its_stat_not_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some file systems list no type (DT_UNKNOWN): asking the listing would stat the whole
    path first. The walk tells a file, a folder and a link by the one stat it makes, so
    entries that know only their name and path are enough."""
    make_tree(tmp_path, {"a/x.jpg": "1", "b.jpg": "22"})
    os.symlink("a", tmp_path / "link")  # a link to a folder inside: walked once, counted
    os.mkfifo(tmp_path / "pipe.mp3")
    real_scandir = os.scandir

    class Listing:
        def __init__(self, path: str) -> None:
            self.entries = [SimpleNamespace(name=e.name, path=e.path) for e in real_scandir(path)]

        def __enter__(self) -> object:
            return iter(self.entries)

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(walk_module.os, "scandir", Listing)
    stats = WalkStats()
    assert paths(tmp_path, stats=stats) == ["a/x.jpg", "b.jpg"]
    assert (stats.files, stats.linked_folders, stats.loops) == (2, 1, 1)
