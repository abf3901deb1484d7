"""The home page: the newest photos first, then the tags grouped by what they are.

A tag is a year (``2019``), a top folder of the library, a bracket tag from
file names (``[beach]``: a name no folder has), or another folder further
down; each shows its number of files and its newest file as a cover.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..names import ALL_TAG, display
from ..snapshot import Snapshot
from ..userdata.starred import FAVOURITES_TAG
from . import render
from .keys import LIBRARY
from .render import page, tag_url, tile, view_url

RECENT = 24  # the newest files first: a phone's first screen and more
YEAR = re.compile(r"(1[89]|2\d)\d\d")
# (key, heading) in the order the page shows them.
GROUPS = (("folders", "Folders"), ("years", "Years"), ("tags", "Tags"),
          ("more", "More folders"))

routes = web.RouteTableDef()


def kind_of_tag(name: str, top: frozenset[str], folders: frozenset[str]) -> str:
    if YEAR.fullmatch(name):
        return "years"
    if name in top:
        return "folders"
    return "more" if name in folders else "tags"


def grouped(tags: list[tuple[str, int]], covers: dict[str, dict[str, Any]],
            top: frozenset[str], folders: frozenset[str]) -> list[dict[str, Any]]:
    """The tags (``All`` and ``Favourites`` apart) as the page's groups, each tag a card."""
    groups: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in GROUPS}
    for name, count in tags:
        if name in (ALL_TAG, FAVOURITES_TAG):
            continue
        groups[kind_of_tag(name, top, folders)].append(card(name, count, covers.get(name)))
    groups["years"].sort(key=lambda c: c["raw"], reverse=True)  # the newest year first
    return [{"key": key, "heading": heading, "cards": groups[key]}
            for key, heading in GROUPS if groups[key]]


def card(name: str, count: int, cover: dict[str, Any] | None) -> dict[str, Any]:
    thumb = cover["thumb_url"] if cover is not None else None  # versioned: cached for good
    return {"raw": name, "name": display(name), "url": tag_url(name), "count": count,
            "thumb": thumb, "kind": cover["kind"] if cover else None}


@routes.get("/")
@page
async def home(request: web.Request) -> web.StreamResponse:
    async with request.app[LIBRARY].snapshot() as snap:
        tags = await snap.tags()
        recent = (await snap.page(ALL_TAG, 0, RECENT, "taken"))[1] if tags else []
        return render.render(
            request, "home.html", snap=snap, title="Library",
            recent=[tile(f, view_url(ALL_TAG, f, sort="taken")) for f in recent],
            recent_url=tag_url(ALL_TAG, sort="taken"),
            special=await _special(snap, tags), groups=await _groups(snap, tags),
        )


async def _special(snap: Snapshot, tags: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """``All`` and ``Favourites``, first of all."""
    covers = await snap.covers()
    return [card(name, count, covers.get(name)) for name, count in tags
            if name in (ALL_TAG, FAVOURITES_TAG)]


async def _groups(snap: Snapshot, tags: list[tuple[str, int]]) -> list[dict[str, Any]]:
    top, folders = await snap.folder_names()
    return grouped(tags, await snap.covers(), top, folders)
