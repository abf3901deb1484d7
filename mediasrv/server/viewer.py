"""Where a viewed file stands: in a tag, or among a search's results.

That place decides what the viewer's ← and → step to, what Esc goes back to
and what *Random* picks from. A URL that names no file of the index (a
mistyped one, an old link) is resolved to the file it most likely means, or
answered with a page that says so and a way back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..errors import FileNotIndexed, UnknownTag
from ..names import ALL_TAG, display, url_unquote
from ..snapshot import Snapshot
from . import render
from .render import quote_segment, search_url, tag_url, view_url


@dataclass(frozen=True)
class Place:
    """A file, its neighbours, and the list they are in (a tag, or a search's results)."""

    file: dict[str, Any]
    tag: str  # the tag stepped through (All for a search)
    q: str | None  # the search the viewer was opened from
    position: int
    total: int
    prev: dict[str, Any] | None
    next: dict[str, Any] | None
    back_url: str  # the grid or the results, at this file
    sort: str = "name"  # the tag's order (name or taken); a search's results have their own

    @property
    def label(self) -> str:
        return f"“{display(self.q)}”" if self.q is not None else display(self.tag)

    @property
    def random_url(self) -> str:
        return render.with_query(f"/random/{quote_segment(self.tag)}", q=self.q,
                                 sort=render.sort_param(self.sort) if self.q is None else None)

    @property
    def way_back(self) -> tuple[str, str]:
        if self.q is not None:
            return search_url(self.q), f"Back to the results for {self.label}"
        return tag_url(self.tag, sort=self.sort), f"Back to {self.label}"

    def link(self, other: dict[str, Any]) -> str:
        """The viewer of ``other`` in the same list, in the same order."""
        return view_url(self.tag, other, self.q, self.sort)


Located = Place | web.Response


def view_target(request: web.Request) -> tuple[str | None, str]:
    """(tag, path) of a ``/view/{tag}/{path}`` URL, byte-exact; (None, rest) without a tag."""
    raw = request.raw_path.partition("?")[0]
    if not raw.startswith("/view/"):
        raise web.HTTPNotFound()
    tag_part, slash, path_part = raw[len("/view/"):].partition("/")
    tag, path = url_unquote(tag_part), url_unquote(path_part)
    if "\x00" in tag or "\x00" in path:
        raise FileNotIndexed(display(raw))
    if not slash or not path:
        return None, tag
    return (tag, path) if tag else (None, path)


async def locate(request: web.Request, snap: Snapshot, q: str | None, search_limit: int,
                 page_size: int, sort: str = "name") -> Located:
    """The place of the file a viewer URL names, in a tag in ``sort`` order or among the
    results of ``q``; else a redirect or a "not here" page."""
    tag, path = view_target(request)
    if q is not None:
        return await _in_search(request, snap, q, path, search_limit)
    every = (tag_url(ALL_TAG, sort=sort), "See every file")
    if tag is None:
        return await _elsewhere(request, snap, [path], every, sort=sort)
    try:
        found = await snap.neighbours(path, tag, sort)
    except UnknownTag:  # the tag is gone (a renamed folder), or the URL had no tag
        return await _elsewhere(request, snap, [path, f"{tag}/{path}"], every, sort=sort)
    except FileNotIndexed:  # perhaps a path with no tag in front of it
        return await _elsewhere(request, snap, [f"{tag}/{path}"],
                                (tag_url(tag, sort=sort), f"Back to {display(tag)}"),
                                missing=path, sort=sort)
    shown = await snap.tag_name(tag)
    if shown != tag:  # another spelling of the tag: the viewer lives at the shown one
        raise web.HTTPFound(view_url(shown, found.file, sort=sort))
    back = tag_url(tag, found.position // page_size + 1, sort) + f"#f{found.position}"
    return Place(found.file, tag, None, found.position, found.total, found.prev, found.next,
                 back, sort)


async def _in_search(request: web.Request, snap: Snapshot, q: str, path: str,
                     limit: int) -> Located:
    """The file among the results of ``q`` (as the search page lists them)."""
    results = await snap.search(q, limit)
    for position, file in enumerate(results):
        if file["path"] == path:
            return Place(
                await snap.with_details(file), ALL_TAG, q, position, len(results),
                results[position - 1] if position > 0 else None,
                results[position + 1] if position + 1 < len(results) else None,
                search_url(q, position),
            )
    # No longer among the results (renamed, say): show it on its own, if it is there.
    return await _elsewhere(request, snap, [path],
                            (search_url(q), f"Back to the results for “{display(q)}”"))


async def _elsewhere(request: web.Request, snap: Snapshot, paths: list[str],
                     way_back: tuple[str, str], *, missing: str | None = None,
                     sort: str = "name") -> Located:
    """A redirect to the first of ``paths`` that is a file, viewed in All; else "not here"."""
    for candidate in paths:
        file = await _get(snap.get, candidate)
        if file is not None:
            raise web.HTTPFound(view_url(ALL_TAG, file, sort=sort))
    return render.missing_file(request, snap, missing or paths[0], way_back, gone=False)


async def _get(get: Callable[[str], Any], path: str) -> dict[str, Any] | None:
    try:
        return dict(await get(path))
    except FileNotIndexed:
        return None


# -- the details panel ---------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    """One line of the viewer's details panel: what it is, its value, and perhaps a link."""

    key: str  # an id for the page and its tests: camera, lens, …
    label: str
    text: str
    href: str | None = None


def details(file: dict[str, Any], map_url: str = "", *, with_place: bool = True) -> list[Detail]:
    """The camera's side of a photo or video (``file["details"]``, from its header) as the
    panel shows it; a GPS position (unless not ``with_place``) links to ``map_url``, a
    template with {lat} and {lon}."""
    found = file.get("details") or {}
    lines = []
    camera = camera_name(found.get("camera_make"), found.get("camera_model"))
    if camera:
        lines.append(Detail("camera", "Camera", camera))
    if found.get("lens"):
        lines.append(Detail("lens", "Lens", display(str(found["lens"]))))
    for key, label, text in (
        ("focal", "Focal length", _number(found.get("focal_length_mm"), "{} mm")),
        ("aperture", "Aperture", _number(found.get("f_number"), "f/{}")),
        ("shutter", "Exposure", exposure_time(found.get("exposure_time_s"))),
        ("iso", "ISO", f"{found['iso']:g}" if found.get("iso") else None),
    ):
        if text:
            lines.append(Detail(key, label, text))
    lat, lon = found.get("gps_lat"), found.get("gps_lon")
    if with_place and lat is not None and lon is not None:
        href = map_url.replace("{lat}", f"{lat:.6f}").replace("{lon}", f"{lon:.6f}") or None
        lines.append(Detail("place", "Place", place_name(lat, lon), href))
    return lines


def camera_name(make: str | None, model: str | None) -> str:
    """``Canon`` and ``Canon EOS R5`` read ``Canon EOS R5``, not ``Canon Canon EOS R5``;
    ``NIKON CORPORATION`` and ``NIKON D750`` read ``NIKON D750``."""
    make, model = display(make or "").strip(), display(model or "").strip()
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return f"{make} {model}".strip()


def exposure_time(seconds: float | None) -> str | None:
    """``1/250 s`` for short exposures, as cameras write them; ``0.5 s``, ``2 s`` for long."""
    if not seconds or seconds <= 0:
        return None
    if seconds >= 0.3:
        return f"{round(seconds, 1):g} s"
    return f"1/{round(1 / seconds)} s"


def place_name(lat: float, lon: float) -> str:
    """``48.85837° N, 2.29448° E``: five decimals is about a metre."""
    return (f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, "
            f"{abs(lon):.5f}° {'E' if lon >= 0 else 'W'}")


def _number(value: float | None, form: str) -> str | None:
    """``value`` to one decimal without a trailing .0 (``f/2.8``, ``35 mm``), in ``form``."""
    return form.format(f"{round(value, 1):g}") if value else None
