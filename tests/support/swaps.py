"""Swaps under load: a library that grows one file a rescan, and a check of one answer."""

from __future__ import annotations

from typing import Any

BASE = 60  # files in the library before any rescan


def base_tree() -> dict[str | bytes, bytes | str]:
    return {f"Trips/{year}/img{i}.jpg": "x" * i for year in (2023, 2024) for i in range(BASE // 2)}


def expected_total(generation: int) -> int:
    # each rescan adds exactly one file, added/1.jpg .. added/N.jpg
    return BASE + generation - 1


def check(kind: str, arg: int, body: dict[str, Any]) -> int:
    """Assert one answer is internally consistent with its own generation."""
    g = body["generation"]
    if kind == "tags":
        counts = {t["name"]: t["count"] for t in body["tags"]}
        assert counts["All"] == expected_total(g)
        assert counts.get("added", 0) == g - 1
    elif kind == "page":
        total = body["total"]
        assert total == expected_total(g)
        expected_len = max(0, min(10, total - arg))
        assert len(body["files"]) == expected_len
    elif kind == "file":  # added/{arg}.jpg within tag "added", present from generation arg+1
        assert body["total"] == g - 1
        assert body["position"] == arg - 1
        assert body["file"]["path"] == f"added/{arg}.jpg"
        assert (body["prev"] or {}).get("path") == (f"added/{arg - 1}.jpg" if arg > 1 else None)
        assert (body["next"] or {}).get("path") == (f"added/{arg + 1}.jpg" if arg + 1 < g else None)
    return g
