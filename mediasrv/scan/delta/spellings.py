"""A delta build's part in how tags are spelled: each spelling's files, and the shown name.

Tag names that differ only in letter case are one tag (``names.tag_key``);
``tag_spellings`` counts the files carrying each spelling, and ``tags.name``
is the spelling on the most of them (migrations/0006_one_tag_per_word.sql).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from ...index.filerows import Probed, tag_names
from ...names import db_text, from_db, shown_spelling, tag_key, tags_of
from ..fallback import NeedFullBuild
from .plan import Plan


def write_spellings(conn: sqlite3.Connection, the_plan: Plan, tag_ids: dict[str, int],
                    now: Mapping[str, Probed | None]) -> None:
    """Each spelling's file count, and the name each tag is shown by, for the touched files
    (``now``: what is known of each file of a touched folder, a song's tags).

    Only the spellings a touched file carried or carries change; the shown
    name is chosen again from the tag's whole (small) list of spellings.
    """
    change: dict[str, int] = {}  # exact spelling -> files gained (lost when negative)
    for fp in the_plan.folders.values():
        for f in fp.old:
            for name in tags_of(f.path, tag_names(f.probed)):
                change[name] = change.get(name, 0) - 1
        for rec in fp.new:
            for name in tags_of(rec.path, tag_names(now[rec.path])):
                change[name] = change.get(name, 0) + 1
    by_tag: dict[int, dict[str, int]] = {}
    for name, n in change.items():
        tag_id = tag_ids.get(tag_key(name))
        if n and tag_id is not None:  # else the tag is gone, spellings and all
            by_tag.setdefault(tag_id, {})[name] = n
    for tag_id, diff in sorted(by_tag.items()):
        counts = {from_db(raw): n for raw, n in conn.execute(
            "SELECT coalesce(name_bytes, name), file_count FROM tag_spellings WHERE tag_id = ?",
            (tag_id,))}
        for name, n in diff.items():
            counts[name] = counts.get(name, 0) + n
        if any(n < 0 for n in counts.values()):
            raise NeedFullBuild(f"tag {tag_id}: a spelling would be on fewer than no files")
        counts = {name: n for name, n in counts.items() if n}
        conn.execute("DELETE FROM tag_spellings WHERE tag_id = ?", (tag_id,))
        conn.executemany("INSERT INTO tag_spellings VALUES (?, ?, ?, ?)",
                         ((tag_id, *db_text(name), n) for name, n in sorted(counts.items())))
        if counts:  # (All of a library with no files keeps its name)
            conn.execute("UPDATE tags SET name = ?, name_bytes = ? WHERE id = ?",
                         (*db_text(shown_spelling(counts)), tag_id))
