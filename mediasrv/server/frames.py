"""A page's frame, rendered by Jinja once for what it depends on, its page's parts put in.

Every page of a tag's grid in one order is the same HTML around its tiles but for a
few values: the page's number and its previous and next pages' links. Rendering
``grid.html`` (and ``base.html``) each time cost ~100 µs of a grid page's ~600, and
encoding the page's 50 KB to UTF-8 ~25 µs more (its frame is not ASCII: ``›``,
``«``, ``·``). ``framed`` renders the template once per key with a ``Slot`` for each
per-page value, cuts it there into pieces of UTF-8 bytes, and answers a page by
joining the pieces with its values. The key is what the rest of the page depends on:
the caller's (a tag, its order, its file count, ...) and the frame's (the footer's
generation, file count and last scan, whether this server rescans, the local zone).
Not a cache of answers: the tiles and every per-page value are made for each request.
``tests/test_frames.py`` checks that a framed page is byte for byte the rendered one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..snapshot import Snapshot
from . import following
from .keys import COORDINATOR, SETTINGS
from .render import PAGE_HEADERS, SHARE_MODE, page_text
from .tiles import escape

_SLOT = re.compile("\x00([^\x00]*)\x00")  # a name never holds NUL: nothing else matches
KEPT = 64  # frames kept per server: a few tags and orders are browsed at a time


class Slot(str):
    """A per-page value in a frame: written as a mark ``framed`` cuts the frame at. A
    format (``{{ page | number }}`` is ``f"{n:,}"``) is a mark of its own."""

    __slots__ = ()

    def __new__(cls, name: str) -> Slot:
        return super().__new__(cls, f"\x00{name}\x00")

    def __format__(self, spec: str) -> str:
        return f"\x00{self[1:-1]}:{spec}\x00" if spec else str(self)


# The pieces of UTF-8, and between each two the slot there: its name and format.
Frame = tuple[list[bytes], list[tuple[str, str]]]
FRAMES = web.AppKey("frames", dict[tuple[Any, ...], Frame])  # oldest use first


def _frame(html: str) -> Frame:
    cut = _SLOT.split(html)
    slots = [(name, spec) for name, _, spec in (slot.partition(":") for slot in cut[1::2])]
    return [text.encode("utf-8", "replace") for text in cut[::2]], slots


def _value(value: Any, spec: str) -> bytes:
    """A slot's value as the template writes it: formatted, then escaped; bytes (HTML
    already, such as the tiles) as they are."""
    if isinstance(value, bytes):
        return value
    return escape(format(value, spec)).encode("utf-8", "replace")


def framed(
    request: web.Request,
    template: str,
    snap: Snapshot,
    key: tuple[Any, ...],
    context: Callable[[], dict[str, Any]],
    values: dict[str, Any],
) -> web.Response:
    """``render.render`` of ``template`` for ``context()`` with ``values`` in it: the frame,
    ``context()`` in which each of ``values`` is ``Slot(its name)``, rendered once for
    ``key`` (all that ``context()`` depends on), then ``values`` put in (escaped; bytes
    are HTML's, put in as they are)."""
    app = request.app
    checked = app[COORDINATOR].checked_at
    whole = (
        template,
        key,
        snap.generation,
        snap.file_count,
        checked if checked is not None else snap.meta.get("scanned_at"),
        following.can_rescan(app),
        app[SETTINGS].follow,
        time.tzname,
    )
    # A share's pages are not kept (their static URLs are the share's; none is framed yet).
    kept = app[FRAMES] if request.get(SHARE_MODE) is None else {}
    found = kept.get(whole)
    if found is None:
        found = kept[whole] = _frame(page_text(request, template, snap=snap, **context()))
        while len(kept) > KEPT:
            kept.pop(next(iter(kept)))  # the least recently used
    else:
        kept[whole] = kept.pop(whole)  # now the most recently used
    pieces, slots = found
    body = [pieces[0]]
    for (name, spec), piece in zip(slots, pieces[1:], strict=True):
        body += (_value(values[name], spec), piece)
    return web.Response(
        body=b"".join(body), content_type="text/html", charset="utf-8", headers=PAGE_HEADERS
    )
