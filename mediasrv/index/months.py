"""The months of each tag's date order: how many of its files each month holds.

A file's month is that of the time ``sort=taken`` orders it by
(``coalesce(taken_ns, mtime_ns)``, see ``dateorder.py``), in the local time
zone of the process that builds the generation (the server's scan process),
as ``YYYYMM``. ``tag_months`` (migrations/0005_months.sql) holds a count per
(tag, month); a month's offset in the newest-first order is the sum of the
counts of the months after it, added up when it is read (a tag has a few
hundred months at most). Stored offsets would shift with every new photo:
a new photo is the newest, so every older month's offset would move.

A full build counts each tag's sorted keys between month boundaries (a
bisect per month, not a call per file); a delta build adds and takes away
the keys its files had and have, one month each.
"""

from __future__ import annotations

import bisect
import functools
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

Key = tuple[int, int]  # dateorder.Key (dateorder imports this module)

# The local zone's rules as this process sees them (meta.months_zone, written with the
# other facts by filerows.write_meta): a generation's months are cut in one zone; a
# delta in another zone builds in full instead.
ZONE_META = "months_zone"


def zone() -> str:
    """The local time zone's name and offsets, as they cut months."""
    return f"{'/'.join(time.tzname)} {time.timezone} {time.altzone}"


def month_of(ns: int) -> int:
    """``YYYYMM`` of the local date at ``ns`` ns after the epoch."""
    t = time.localtime(ns // 1_000_000_000)
    return t.tm_year * 100 + t.tm_mon


@functools.cache
def _month_start(month: int, zone: str) -> int:
    """The first ns of ``month`` (``YYYYMM``), local time (``zone``: the cache's key)."""
    seconds = time.mktime((month // 100, month % 100, 1, 0, 0, 0, 0, 0, -1))
    return int(seconds) * 1_000_000_000


def _next(month: int) -> int:
    return month + 89 if month % 100 == 12 else month + 1


def counts(keys: Sequence[Key]) -> dict[int, int]:
    """{month: files} of ``keys`` sorted oldest first: a bisect per month that has files."""
    found: dict[int, int] = {}
    here = zone()
    at = 0
    while at < len(keys):
        month = month_of(keys[at][0])
        # at least one file: a zone whose rules disagree with themselves cannot stall it
        end = max(bisect.bisect_left(keys, (_month_start(_next(month), here), -1), lo=at),
                  at + 1)
        found[month] = end - at
        at = end
    return found


INSERT = "INSERT INTO tag_months VALUES (?, ?, ?)"


def write_all(conn: sqlite3.Connection, tag_ids: Mapping[str, int],
              orders: Mapping[str, Sequence[Key]]) -> None:
    """Every tag's months, for a full build (inside the caller's transaction)."""
    conn.executemany(INSERT, ((tag_ids[tag], month, n) for tag, keys in orders.items()
                              for month, n in counts(keys).items()))


def same_zone(conn: sqlite3.Connection) -> bool:
    """Whether a generation's months were cut in the zone this process is in."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (ZONE_META,)).fetchone()
    return row is not None and row[0] == zone()


def update(conn: sqlite3.Connection, tag_id: int, removed: Iterable[Key],
           added: Iterable[Key]) -> None:
    """Take ``removed`` out of a tag's months and put ``added`` in (a delta build)."""
    change: Counter[int] = Counter()
    for time_ns, _ in removed:
        change[month_of(time_ns)] -= 1
    for time_ns, _ in added:
        change[month_of(time_ns)] += 1
    for month, n in sorted(change.items()):
        if not n:
            continue
        conn.execute("INSERT INTO tag_months VALUES (?, ?, ?) ON CONFLICT (tag_id, month)"
                     " DO UPDATE SET count = count + excluded.count", (tag_id, month, n))
    if conn.execute("SELECT 1 FROM tag_months WHERE tag_id = ? AND count < 0",
                    (tag_id,)).fetchone():
        raise LookupError(f"tag {tag_id}: a month would hold fewer than no files")
    conn.execute("DELETE FROM tag_months WHERE tag_id = ? AND count = 0", (tag_id,))


def drop(conn: sqlite3.Connection, tag_id: int) -> None:
    """Every month of a tag that no longer exists."""
    conn.execute("DELETE FROM tag_months WHERE tag_id = ?", (tag_id,))


def with_offsets(months: Iterable[tuple[int, int]]) -> list[dict[str, object]]:
    """The API's months from (YYYYMM, count) newest first: each with its first file's
    offset in the newest-first order."""
    out: list[dict[str, object]] = []
    offset = 0
    for month, n in months:
        out.append({"month": f"{month // 100:04d}-{month % 100:02d}", "count": n,
                    "offset": offset})
        offset += n
    return out
