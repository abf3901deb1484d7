"""Rendering pages: the Jinja environment, its filters, URLs of pages, and the error pages.

Everything a page shows is escaped (autoescape) and made printable with
``names.display`` (a name that is not UTF-8 is a guess, marked as one: ``is guessed``,
``GUESS_NOTE``); URLs are percent-encoded byte for byte, so such names round-trip.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup

from ..errors import FileGone, FileNotIndexed, IndexNotReady, TooManyAttempts, UnknownTag
from ..media.thumbs import SIZE_2X
from ..names import ALL_TAG, GUESSED_AS, display, is_clean
from ..snapshot import Snapshot
from . import following, middleware
from .keys import COORDINATOR, LIBRARY, SETTINGS, STATIC, TEMPLATES
from .songs import song_of
from .tiles import tiles_html
from .wording import human_bytes, human_duration, human_time, iso_time

# Pages run no inline script and load nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
        "style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # A ?token= in this page's URL must never reach another site in a Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SEARCH_MAX = 500  # characters the search box takes (its URL stays far below the 8 KB limit)
# Set by a share link's handlers (shared.py): the page is rendered for its recipient, with
# every link under /s/{id}/ and none of the owner's parts (templates test ``share``).
SHARE_MODE = web.RequestKey("share_mode", dict[str, Any])
GUESS_NOTE = f"name not UTF-8, shown as {GUESSED_AS} (a best guess)"


def setup(app: web.Application, web_dir: Path) -> None:
    """The templates and static files of ``web_dir``; HTML error pages for browsers."""
    app[STATIC] = static_files(web_dir / "static")
    app[TEMPLATES] = environment(web_dir / "templates", app[STATIC])
    app[middleware.HTML_ERROR] = render_error


def static_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Every file under ``folder``: its path and a short content hash (the cache buster)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            found[path.relative_to(folder).as_posix()] = (path, digest)
    return found


def environment(folder: Path, static: dict[str, tuple[Path, str]]) -> jinja2.Environment:
    # auto_reload off: the templates ship with the package, and checking each one's file
    # for changes on every page cost ~10 µs of a grid page's ~90 µs of Jinja.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=True, auto_reload=False,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )

    def static_url(name: str) -> str:
        return f"/static/{name}?v={static[name][1]}"

    # base.html, on every page, takes its dozen URLs from a dict: a Jinja call of
    # static_url costs ~2 µs, a lookup a tenth of that (a share's pages: ``render``).
    urls = {name: Markup(static_url(name)) for name in static}
    env.globals.update(static_url=static_url, static=urls, tag_url=tag_url, ALL_TAG=ALL_TAG,
                       SEARCH_MAX=SEARCH_MAX, GUESS_NOTE=GUESS_NOTE, tiles_html=tiles_html)
    env.tests["guessed"] = lambda name: not is_clean(name)  # shown as a guess: mark it
    env.filters.update(bytes=human_bytes, when=human_time, iso=iso_time,
                       duration=human_duration, number=lambda n: f"{n:,}", song=song_of)
    return env


# -- URLs ----------------------------------------------------------------------


def quote_segment(text: str) -> str:
    """Percent-encode ``text`` as one URL path segment (``/`` too), byte-exact."""
    return quote(text.encode("utf-8", "surrogateescape"), safe="")


# A query value urlencode leaves as it is (a page number, an order, a plain name).
_QUERY_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*").fullmatch


def with_query(base: str, **query: str | None) -> str:
    """``base?k=v…`` with each value percent-encoded byte-exact; None values are left out."""
    given = [(k, v) for k, v in query.items() if v is not None]
    if all(_QUERY_PLAIN(v) for _, v in given):  # most links (page=2): urlencode costs ~5 µs
        return f"{base}?{'&'.join(f'{k}={v}' for k, v in given)}" if given else base
    raw = {k: v.encode("utf-8", "surrogateescape") for k, v in given}
    return f"{base}?{urlencode(raw)}"


def sort_param(sort: str) -> str | None:
    """``sort`` as a URL carries it: not at all for the default order (``name``)."""
    return None if sort == "name" else sort


def tag_url(tag: str, page: int = 1, sort: str = "name") -> str:
    """A page of the grid of ``tag`` in ``sort`` order."""
    return with_query(f"/tag/{quote_segment(tag)}", sort=sort_param(sort),
                      page=None if page == 1 else str(page))


def view_url(tag: str, file: dict[str, Any], q: str | None = None, sort: str = "name") -> str:
    """The viewer of ``file`` in ``tag`` in ``sort`` order; with ``q``, among the results of
    that search (in natural order: ``sort`` does not count)."""
    return with_query(f"/view/{quote_segment(tag)}/{file['url'].removeprefix('/media/')}", q=q,
                      sort=sort_param(sort) if q is None else None)


def search_url(q: str, position: int | None = None) -> str:
    url = with_query("/search", q=q)
    return url if position is None else f"{url}#f{position}"


def tile(file: dict[str, Any], href: str, *, star: bool = True) -> dict[str, Any]:
    """What a grid tile shows for ``file`` (``star``: with its ★ button); every string is
    printable."""
    thumb = file["thumb_url"]  # with ?v=: cached for good
    pictured = file["kind"] in ("image", "video")  # the others show an icon, sharp at any size
    song = song_of(file) if file["kind"] == "audio" else None
    return {
        "href": href,
        "thumb": thumb,
        # a song's cover art is a picture too (or the music icon, sharp at any size)
        "thumb_2x": f"{thumb}&w={SIZE_2X}" if pictured or song else None,
        "name": song["title"] if song else display(file["name"]),
        # a song titled by its tags shows no file name to mark
        "guessed": not is_clean(file["name"])
        and not (song and (file.get("audio") or {}).get("title")),
        "artist": song["artist"] if song else None,
        "title": file["display_path"] + (f" — {GUESS_NOTE}" if file["name_guessed"] else ""),
        "kind": file["kind"],
        # The picture's shape, for rows that keep it (grid.js); None: unknown, a square.
        "shape": (file["width"], file["height"]) if pictured and file.get("width")
        and file.get("height") else None,
        "favourite": bool(file.get("favourite")),
        "star_api": "/api/favourites?path=" + file["url"].removeprefix("/media/") if star else None,
    }



# -- filters -------------------------------------------------------------------


# -- pages -----------------------------------------------------------------------


def footer(app: web.Application, snap: Snapshot | None) -> dict[str, Any]:
    """Files, generation, and when a scan last looked at the library (whatever it found)."""
    if snap is None:
        return {"files": None, "generation": None, "scanned_at": None, "scanned_iso": ""}
    checked = app[COORDINATOR].checked_at
    when = checked if checked is not None else snap.meta.get("scanned_at")
    return {"files": snap.file_count, "generation": snap.generation,
            "scanned_at": when, "scanned_iso": iso_time(when)}


class _Urls(dict[str, str]):
    """Static URLs made as a template asks for them (``static['app.css']``)."""

    def __init__(self, make: Callable[[str], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, name: str) -> str:
        return self._make(name)


def render(request: web.Request, template: str, *, status: int = 200,
           snap: Snapshot | None = None, **context: Any) -> web.Response:
    html = page_text(request, template, snap=snap, **context)
    # Every name went through display(); "replace" is only a last line of defence.
    return web.Response(body=html.encode("utf-8", "replace"), status=status,
                        content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


def page_text(request: web.Request, template: str, *, snap: Snapshot | None = None,
              **context: Any) -> str:
    """``template`` rendered for ``request`` with ``context``: the HTML of a page."""
    page = request.app[TEMPLATES].get_template(template)
    if snap is None:
        snap = request.app[LIBRARY].current
    share = request.get(SHARE_MODE)
    if share is not None:  # its static files too are reached through the link
        context.setdefault("static_url", share["static_url"])
        context.setdefault("static", _Urls(share["static_url"]))
    # A follower has no Rescan button: rescans happen on the leader.
    return page.render(footer=footer(request.app, snap), follower=request.app[SETTINGS].follow,
                       can_rescan=share is None and following.can_rescan(request.app),
                       share=share, **context)


def page(handler: Handler) -> Handler:
    """A page: its errors are answered with the HTML error page, whatever Accept says."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        request[middleware.AS_PAGE] = True
        return await handler(request)

    return wrapped


async def render_error(request: web.Request, status: int, code: str, message: str,
                       exc: Exception | None) -> web.StreamResponse:
    """The HTML answer for an error (the middleware's, for pages and browsers)."""
    if code == IndexNotReady.code:
        response = render(request, "building.html", status=503, title="Building the index")
        response.headers["Retry-After"] = "2"
        return response
    if code == middleware.UNAUTHORIZED:
        return sign_in(request, status)
    context: dict[str, Any] = {"http_status": status, "code": code, "title": "Not found",
                               "heading": "Not found", "detail": message, "back": None}
    served = request.app[LIBRARY].current
    if isinstance(exc, UnknownTag | FileNotIndexed) and served and not served.complete:
        # A first walk may not have come to it yet: wait for it instead of a dead end.
        what = exc.tag if isinstance(exc, UnknownTag) else exc.path
        return render(request, "notyet.html", status=status, code=code, title="Not found yet",
                      detail=f"“{display(what)}” is not in the part of the library indexed so far.")
    if isinstance(exc, UnknownTag):
        context.update(heading="No such tag",
                       detail=f"There is no tag named “{display(exc.tag)}” in the library.",
                       back=(tag_url(ALL_TAG), "See every file"))
    elif isinstance(exc, FileGone | FileNotIndexed):
        context.update(heading="Not in the library",
                       detail=f"“{display(exc.path)}” is not in the library.")
    elif isinstance(exc, TooManyAttempts):
        context.update(title="Too many attempts", heading="Too many wrong tokens",
                       detail="A wrong access token came from this address too often: try "
                       f"again in {exc.retry_after} seconds.")
    elif status == 404:
        context.update(heading="No such page",
                       detail=f"There is no page at “{display(request.path)}”.")
    elif status == 414:
        context.update(title="Too long", heading="That is too long",
                       detail=f"This address is too long for the server ({message}). A search "
                              f"of at most {SEARCH_MAX:,} characters always fits.")
    elif status >= 500:
        context.update(title="Error", heading="Something went wrong")
    else:
        context.update(title="Bad request", heading="That did not work")
    return render(request, "error.html", status=status, **context)


def sign_in(request: web.Request, status: int = 401, *, wrong: bool = False,
            next_url: str | None = None) -> web.Response:
    """The sign-in page: enter the access token, then go on to ``next_url`` (this page)."""
    page = request.app[TEMPLATES].get_template("signin.html")
    html = page.render(title="Sign in", next=next_url or request.raw_path, wrong=wrong)
    return web.Response(body=html.encode("utf-8", "replace"), status=status,
                        content_type="text/html", charset="utf-8",
                        headers={**PAGE_HEADERS, "Cache-Control": "no-store"})


def missing_file(request: web.Request, snap: Snapshot, path: str, way_back: tuple[str, str], *,
                 gone: bool) -> web.Response:
    """The 404 page for a file that vanished (or never was), with a way back (url, label)."""
    name = display(path.rpartition("/")[2])
    return render(
        request, "error.html", status=404, snap=snap, title="File not found", http_status=404,
        code="file_gone" if gone else "unknown_file",
        heading="This file is no longer here" if gone else "This file is not in the library",
        detail=(f"“{name}” was deleted or moved since the library was last scanned."
                if gone else f"“{name}” is not in the library (any more): it may have been "
                "moved, renamed or deleted since this link was made."),
        back=way_back,
    )
