"""The web UI: server-rendered pages, thumbnails and the static files they use.

Pages: ``/`` (tags), ``/tag/{tag}`` (a grid, paged), ``/view/{tag}/{path}``
(one file), ``/random/{tag}`` (a redirect to a random file's view),
``/search?q=``. Each page reads everything it shows from one lease on the
current generation. Paths come from the raw URL, so names that are not valid
UTF-8 round-trip byte for byte; everything shown is escaped (autoescape) and
made printable with ``names.display``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from aiohttp import web

from ..errors import FileGone, FileNotIndexed, IndexNotReady, MediasrvError, UnknownTag
from ..names import ALL_TAG, display, kind_of, split_ext, url_unquote
from ..resources import resource_dir
from ..snapshot import Snapshot
from ..thumbs import ICONS, Thumbnailer, etag
from . import middleware, params
from .api import on_disk, pick_existing, report_vanished
from .keys import CACHE, LIBRARY, RNG
from .media import indexed_file

log = logging.getLogger(__name__)

PAGE_SIZE = 60  # tiles per grid page: fills 2..6 columns evenly
SEARCH_LIMIT = 200
SHUFFLE = 12  # random files on the home page

TEMPLATES = web.AppKey("templates", jinja2.Environment)
THUMBS = web.AppKey("thumbnailer", Thumbnailer)
STATIC = web.AppKey("static_files", dict[str, tuple[Path, str]])
ICON_SVG = web.AppKey("icon_svg", dict[str, bytes])

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
FOREVER = "private, max-age=31536000, immutable"

routes = web.RouteTableDef()
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup(app: web.Application) -> None:
    """Add the pages, /thumb and /static to ``app``, and the HTML error page."""
    web_dir = resource_dir("web")
    static_dir = web_dir / "static"
    app[STATIC] = _static_files(static_dir)
    app[ICON_SVG] = {name: (static_dir / "icons" / f"{name}.svg").read_bytes() for name in ICONS}
    app[TEMPLATES] = _environment(web_dir / "templates", app[STATIC])
    app[THUMBS] = Thumbnailer(app[CACHE].thumbs)
    app.router.add_routes(routes)
    app[middleware.HTML_ERROR] = render_error


def _static_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Every file under ``folder``: its path and a short content hash (the cache buster)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            found[path.relative_to(folder).as_posix()] = (path, digest)
    return found


def _environment(folder: Path, static: dict[str, tuple[Path, str]]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )

    def static_url(name: str) -> str:
        return f"/static/{name}?v={static[name][1]}"

    env.globals.update(static_url=static_url, tag_url=tag_url, ALL_TAG=ALL_TAG)
    env.filters.update(bytes=human_bytes, when=human_time, duration=human_duration,
                       number=lambda n: f"{n:,}")
    return env


# -- small helpers the templates use ---------------------------------------


def quote_segment(text: str) -> str:
    """Percent-encode ``text`` as one URL path segment (``/`` too), byte-exact."""
    return quote(text.encode("utf-8", "surrogateescape"), safe="")


def tag_url(tag: str, page: int = 1) -> str:
    url = f"/tag/{quote_segment(tag)}"
    return url if page == 1 else f"{url}?page={page}"


def view_url(tag: str, file: dict[str, Any]) -> str:
    return f"/view/{quote_segment(tag)}/{file['url'].removeprefix('/media/')}"


def api_url(base: str, **query: str) -> str:
    """``base?k=v…`` with each value percent-encoded byte-exact."""
    raw = {k: v.encode("utf-8", "surrogateescape") for k, v in query.items()}
    return f"{base}?{urlencode(raw)}"


def human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} bytes"


def human_time(value: str | int | float | None) -> str:
    """An ISO timestamp or epoch seconds/ns as ``2024-05-01 13:05 UTC``."""
    if value is None or value == "":
        return "never"
    try:
        if isinstance(value, int | float):
            seconds = value / 1e9 if value > 1e12 else value
            moment = datetime.fromtimestamp(seconds).astimezone()
        else:
            moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def iso_time(value: str | int | None) -> str:
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1e9).astimezone().isoformat(timespec="seconds")
    return value or ""


def human_duration(seconds: float | None) -> str:
    if not seconds:
        return ""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def tile(tag: str, file: dict[str, Any]) -> dict[str, Any]:
    """What a grid tile shows for ``file``; every string is printable."""
    return {
        "href": view_url(tag, file),
        "thumb": f"{file['thumb_url']}?v={file['size']}-{file['mtime_ns']}",
        "name": display(file["name"]),
        "title": file["display_path"],
        "kind": file["kind"],
        "favourite": bool(file.get("favourite")),
        "star_api": "/api/favourites?path=" + file["url"].removeprefix("/media/"),
    }


def footer(snap: Snapshot | None) -> dict[str, Any]:
    meta = snap.meta if snap is not None else {}
    return {
        "files": snap.file_count if snap is not None else None,
        "generation": snap.generation if snap is not None else None,
        "scanned_at": meta.get("scanned_at"),
        "scanned_iso": iso_time(meta.get("scanned_at")),
    }


def render(request: web.Request, template: str, *, status: int = 200,
           snap: Snapshot | None = None, **context: Any) -> web.Response:
    page = request.app[TEMPLATES].get_template(template)
    if snap is None:
        snap = request.app[LIBRARY].current
    html = page.render(footer=footer(snap), **context)
    # Every name went through display(); "replace" is only a last line of defence.
    return web.Response(body=html.encode("utf-8", "replace"), status=status,
                        content_type="text/html", charset="utf-8", headers=PAGE_HEADERS)


def page(handler: Handler) -> Handler:
    """Pages always answer HTML, whatever the client's Accept header says."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except MediasrvError as exc:
            return await render_error(request, exc.status, exc.code, str(exc), exc=exc)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return await render_error(request, exc.status, exc.reason.lower().replace(" ", "_"),
                                      exc.reason)

    return wrapped


async def render_error(request: web.Request, status: int, code: str, message: str,
                       exc: Exception | None = None) -> web.StreamResponse:
    """The HTML error page (also the middleware's, for any non-API path a browser asks for)."""
    if code == IndexNotReady.code:
        response = render(request, "building.html", status=503, title="Building the index")
        response.headers["Retry-After"] = "2"
        return response
    context: dict[str, Any] = {"http_status": status, "code": code, "title": "Not found",
                               "heading": "Not found", "detail": message, "back": None}
    if isinstance(exc, UnknownTag):
        context.update(heading="No such tag",
                       detail=f"There is no tag named “{display(exc.tag)}” in the library.")
    elif isinstance(exc, FileGone | FileNotIndexed):
        context.update(heading="Not in the library",
                       detail=f"“{display(exc.path)}” is not in the library.")
    elif status >= 500:
        context.update(title="Error", heading="Something went wrong", detail=message)
    elif status != 404:
        context.update(title="Bad request", heading="That did not work", detail=message)
    return render(request, "error.html", status=status, **context)


def missing_file(request: web.Request, snap: Snapshot, path: str, tag: str, *,
                 gone: bool) -> web.Response:
    """The 404 page for a file that vanished (or never was), with a way back."""
    name = display(path.rpartition("/")[2])
    return render(
        request, "error.html", status=404, snap=snap, title="File not found", http_status=404,
        code="file_gone" if gone else "unknown_file",
        heading="This file is no longer here" if gone else "This file is not in the library",
        detail=(f"“{name}” was deleted or moved since the library was last scanned."
                if gone else f"“{name}” is not in the library (any more): it may have been "
                "moved, renamed or deleted since this link was made."),
        back=(tag_url(tag), f"Back to {display(tag)}"),
    )


# -- pages -----------------------------------------------------------------


@routes.get("/")
@page
async def home(request: web.Request) -> web.StreamResponse:
    async with request.app[LIBRARY].snapshot() as snap:
        tags = await snap.tags()
        draws = [request.app[RNG].random() for _ in range(SHUFFLE)]
        picks = await snap.random(ALL_TAG, draws) if tags else []
        seen: set[str] = set()
        shuffle = []
        for f in picks:
            if f["path"] not in seen:
                seen.add(f["path"])
                shuffle.append(tile(ALL_TAG, f))
        return render(
            request, "home.html", snap=snap, title="Library",
            tags=[{"name": display(n), "url": tag_url(n), "count": c} for n, c in tags],
            shuffle=shuffle,
        )


@routes.get("/tag/{tag:.+}")
@page
async def tag_grid(request: web.Request) -> web.StreamResponse:
    tag = params.tail(request, "/tag/")
    number = params.integer(params.query(request), "page", 1, low=1, high=2**31)
    async with request.app[LIBRARY].snapshot() as snap:
        total, files = await snap.page(tag, (number - 1) * PAGE_SIZE, PAGE_SIZE)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if number > pages:  # the tag shrank since this link was made: its last page
            raise web.HTTPFound(tag_url(tag, pages))
        return render(
            request, "grid.html", snap=snap, title=display(tag),
            tag=display(tag), tag_raw_url=tag_url(tag), total=total,
            first=(number - 1) * PAGE_SIZE, tiles=[tile(tag, f) for f in files],
            page=number, pages=pages,
            prev_url=tag_url(tag, number - 1) if number > 1 else None,
            next_url=tag_url(tag, number + 1) if number < pages else None,
            first_url=tag_url(tag), last_url=tag_url(tag, pages),
            random_url=f"/random/{quote_segment(tag)}",
        )


def _view_target(request: web.Request) -> tuple[str, str]:
    """(tag, path) of a ``/view/{tag}/{path}`` URL, byte-exact from the raw path."""
    raw = request.raw_path.partition("?")[0]
    if not raw.startswith("/view/"):
        raise web.HTTPNotFound()
    tag_part, slash, path_part = raw[len("/view/"):].partition("/")
    tag, path = url_unquote(tag_part), url_unquote(path_part)
    if not slash or not tag or not path or "\x00" in path or "\x00" in tag:
        raise web.HTTPNotFound()
    return tag, path


@routes.get("/view/{rest:.+}")
@page
async def view(request: web.Request) -> web.StreamResponse:
    tag, path = _view_target(request)
    async with request.app[LIBRARY].snapshot() as snap:
        try:
            found = await snap.neighbours(path, tag)
        except UnknownTag:
            # The tag is gone (its folder was renamed, say): the file may not be.
            try:
                file = await snap.get(path)
            except FileNotIndexed:
                return missing_file(request, snap, path, ALL_TAG, gone=False)
            raise web.HTTPFound(view_url(ALL_TAG, file)) from None
        except FileNotIndexed:
            return missing_file(request, snap, path, tag, gone=False)
        if await asyncio.to_thread(on_disk, request, path) is None:
            report_vanished(request, snap.generation, path)
            return missing_file(request, snap, path, tag, gone=True)
        file = found.file
        back = tag_url(tag, found.position // PAGE_SIZE + 1) + f"#f{found.position}"
        prev_file, next_file = found.prev, found.next
        return render(
            request, "view.html", snap=snap, title=display(file["name"]),
            tag=display(tag), tag_url=tag_url(tag), back_url=back,
            file=file, name=display(file["name"]), folder=display(path.rpartition("/")[0]),
            position=found.position, total=found.total,
            prev_url=view_url(tag, prev_file) if prev_file else None,
            next_url=view_url(tag, next_file) if next_file else None,
            random_url=f"/random/{quote_segment(tag)}",
            preload=next_file["url"] if next_file and next_file["kind"] == "image" else None,
            poster=f"{file['thumb_url']}?v={file['size']}-{file['mtime_ns']}",
            api_file=api_url("/api/file", path=path, tag=tag),
        )


@routes.get("/random/{tag:.+}")
@page
async def random_view(request: web.Request) -> web.StreamResponse:
    tag = params.tail(request, "/random/")
    async with request.app[LIBRARY].snapshot() as snap:
        chosen = await pick_existing(request, snap, tag)
    raise web.HTTPFound(view_url(tag, chosen), headers={"Cache-Control": "no-store"})


@routes.get("/search")
@page
async def search(request: web.Request) -> web.StreamResponse:
    text = params.query(request).get("q", "").strip()
    async with request.app[LIBRARY].snapshot() as snap:
        found = await snap.search(text, SEARCH_LIMIT + 1) if text else []
        return render(
            request, "search.html", snap=snap,
            title=f"Search: {display(text)}" if text else "Search",
            q=display(text), tiles=[tile(ALL_TAG, f) for f in found[:SEARCH_LIMIT]],
            more=len(found) > SEARCH_LIMIT, limit=SEARCH_LIMIT,
        )


# -- bytes: thumbnails and static files --------------------------------------


@routes.get("/thumb/{path:.+}")
async def thumb(request: web.Request) -> web.StreamResponse:
    """A thumbnail of an indexed file: JPEG when one can be made, else a kind icon (SVG)."""
    path, real = await indexed_file(request, "/thumb/")
    thumbs = request.app[THUMBS]
    kind = kind_of(split_ext(path.rpartition("/")[2])[1])
    try:
        known = await asyncio.to_thread(thumbs.look_up, path, real, kind)
    except OSError:
        raise FileGone(path) from None  # deleted since indexed_file looked
    exact = params.query(request).get("v") == known.version
    headers = {
        "ETag": etag(known.key),
        "Cache-Control": FOREVER if exact else "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "Referrer-Policy": "no-referrer",
    }
    if headers["ETag"] in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    made = known.found or await thumbs.make(known.key, real, kind)
    if made.jpeg is not None:
        return web.Response(body=made.jpeg, content_type="image/jpeg", headers=headers)
    icon = made.icon if made.icon in ICONS else "other"
    return web.Response(body=request.app[ICON_SVG][icon], content_type="image/svg+xml",
                        headers=headers)


@routes.get("/static/{name:.+}")
async def static(request: web.Request) -> web.StreamResponse:
    """Files of web/static (and only those): cached for good when asked by version."""
    found = request.app[STATIC].get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    path, digest = found
    cache = FOREVER if request.query.get("v") == digest else "no-cache"
    return web.FileResponse(path, headers={"Cache-Control": cache,
                                           "X-Content-Type-Options": "nosniff"})
