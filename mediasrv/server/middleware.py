"""Middlewares: domain errors to JSON answers; the Host, origin and access-token checks."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from ..errors import MediasrvError, TooManyAttempts
from ..hosts import host_name
from . import attempts
from .keys import HOSTS, REFUSALS, SETTINGS

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_COOKIE = "mediasrv_token"
TOKEN_COOKIE_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie
SIGN_IN = "/signin"  # reached without the token: it is where the token is given
TOKEN_MESSAGE = ("an access token is required: send the header 'Authorization: Bearer TOKEN', "
                 "or add ?token=TOKEN to the address once (a browser then keeps it in a cookie)")


UNAUTHORIZED = "unauthorized"
# Set by page handlers: their errors are HTML pages, whatever the Accept header says.
AS_PAGE = web.RequestKey("as_page", bool)
# The HTML error page (set by the pages component): (request, status, code, message, exc).
RenderError = Callable[[web.Request, int, str, str, Exception | None],
                      Awaitable[web.StreamResponse]]
HTML_ERROR: web.AppKey[RenderError] = web.AppKey("html_error")


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def wants_html(request: web.Request) -> bool:
    if request.get(AS_PAGE):
        return True
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def describe(exc: MediasrvError | web.HTTPException) -> tuple[int, str, str]:
    """(status, code, message) of an error, the one mapping for JSON and HTML answers."""
    if isinstance(exc, MediasrvError):
        return exc.status, exc.code, str(exc)
    message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    return exc.status, exc.reason.lower().replace(" ", "_"), message


async def error_answer(request: web.Request, status: int, code: str, message: str,
                       exc: Exception | None = None) -> web.StreamResponse:
    """The answer for an error: the HTML error page for pages and browsers, else JSON."""
    render = request.app.get(HTML_ERROR)
    if render is not None and wants_html(request):
        page = await render(request, status, code, message, exc)
        if isinstance(exc, TooManyAttempts):
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    response = error_response(status, code, message)
    if status == 503:
        response.headers["Retry-After"] = "2"
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    allow = exc.headers.get(hdrs.ALLOW) if isinstance(exc, web.HTTPException) else None
    if allow is not None:  # a 405 says which methods would do
        response.headers[hdrs.ALLOW] = allow
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain exceptions and HTTP errors to one JSON shape (or the HTML error page)."""
    try:
        return await handler(request)
    except (MediasrvError, web.HTTPException) as exc:
        if isinstance(exc, web.HTTPException) and exc.status < 400:
            raise
        status, code, message = describe(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, message)
        return await error_answer(request, status, code, message, exc)


def _write_allowed(request: web.Request, *, token_checked: bool) -> bool:
    """Whether a POST (or any other write) comes from this server's own pages.

    The ``Origin`` must be ``http(s)://`` plus an allowed name (any port), never
    simply "the Host": without a token, a rebound attacker page is same-origin
    with itself. With a token the server may be reached by any name (its LAN
    address), so its own pages there may write too; a hostile page has no token.
    ``Origin: null`` passes only with ``Sec-Fetch-Site: same-origin``: our pages
    are sent with ``Referrer-Policy: no-referrer``, under which a browser sends
    ``null`` for their own form submissions; a sandboxed file from /media (an
    opaque origin) is ``cross-site``. No ``Origin`` at all is a script (curl),
    not a browser page.
    """
    origin = request.headers.get(hdrs.ORIGIN)
    site = request.headers.get("Sec-Fetch-Site")
    if site == "cross-site":
        return False
    if origin is None:
        return True
    if origin == "null":
        return site == "same-origin"
    if request.app[HOSTS].allows_origin(origin):
        return True
    host = request.headers.get(hdrs.HOST)
    return token_checked and host is not None and origin in (f"http://{host}", f"https://{host}")


def _host_refused(request: web.Request) -> web.Response | None:
    """The 421 answer for a request whose Host this server does not answer to, else None.

    Both the Host header and the authority of an absolute-form target
    (``GET http://name/path``, which aiohttp reports as ``request.host``) must
    be allowed; a request without a Host header never is.
    """
    header = request.headers.get(hdrs.HOST)
    policy = request.app[HOSTS]
    if header is not None and policy.allows(header) and (
        request.host == header or policy.allows(request.host)
    ):
        return None
    request.app[REFUSALS].refused(header, request.method, request.path)
    if header is None:
        message = "a Host header is required"
    else:
        name = host_name(header) or header
        message = (f"this server does not answer to the name {name!r} (a defence against DNS "
                   "rebinding): use localhost or 127.0.0.1, start mediasrv with "
                   f"--allowed-host {name}, or set a --token")
    return error_response(421, "forbidden_host", message)


def _given_token(request: web.Request) -> tuple[str, str]:
    """(the token a request carries, where: header, query or cookie); ("", "") if none."""
    header = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if header:
        return header, "header"
    if request.query.get("token"):
        return request.query["token"], "query"
    return request.cookies.get(TOKEN_COOKIE, ""), "cookie"


def signed_in(request: web.Request, token: str) -> bool:
    """Whether ``request`` carries ``token`` (header, query or cookie); a wrong one
    counts as a failed attempt of its client (``attempts``)."""
    given = _given_token(request)[0]
    if hmac.compare_digest(given.encode(), token.encode()):
        return True
    if given:
        attempts.failed(request)
    return False


def _without_token(raw_path: str) -> str:
    """``raw_path`` without its ``token=`` query parameters, everything else byte-exact."""
    path, _, query = raw_path.partition("?")
    kept = [part for part in query.split("&") if part and part.partition("=")[0] != "token"]
    return path + ("?" + "&".join(kept) if kept else "")


def keep_token(response: web.StreamResponse, request: web.Request, token: str) -> None:
    """Let the browser keep the token, in a cookie no script and no other site can read."""
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/",
                        max_age=TOKEN_COOKIE_AGE, secure=request.secure or None)


SHARE_PREFIX = "/s/"  # a share link's pages and bytes: shared.py


def share_route(request: web.Request) -> bool:
    """Whether the router sent ``request`` to a share link's handler (an unrouted path under
    /s/ is not one: it gets every check)."""
    resource = request.match_info.route.resource
    return resource is not None and resource.canonical.startswith(SHARE_PREFIX)


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer only to allowed names (or the token); refuse cross-origin writes.

    Without a token, a request must name this server by a loopback name or an
    ``--allowed-host`` (see ``mediasrv.hosts``). With a token, the token alone
    is the check, so the server may be reached by any name. A browser without
    it gets the sign-in page; a page opened with ``?token=`` once is sent on
    to its address without it, and the browser keeps the token in a cookie.
    """
    if share_route(request) and request.method in ("GET", "HEAD"):
        # The share's id in the path is the credential, checked by its handler; it reads
        # only that tag's files (docs/DESIGN.md, "Share links": why skipping the Host and
        # token checks is safe).
        return await handler(request)
    token = request.app[SETTINGS].token
    source = _given_token(request)[1] if token else ""
    if not token:
        if (refused := _host_refused(request)) is not None:
            return refused
    else:
        try:
            attempts.refuse_if_waiting(request)
        except TooManyAttempts as exc:
            return await error_answer(request, exc.status, exc.code, str(exc), exc)
        if request.path != SIGN_IN and not signed_in(request, token):
            answer = await error_answer(request, 401, UNAUTHORIZED, TOKEN_MESSAGE)
            if source == "cookie":  # an old token (it was changed): counted once, not each time
                answer.del_cookie(TOKEN_COOKIE, path="/")
            return answer
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _write_allowed(
        request, token_checked=bool(token)
    ):
        return error_response(403, "forbidden_origin",
                              "requests from another site may not change this server")
    from_query = bool(token) and source == "query" and request.path != SIGN_IN
    if from_query and request.method == "GET" and wants_html(request):
        # Out of the address bar, the history and bookmarks: the cookie carries it now.
        moved = web.Response(status=303, headers={
            "Location": _without_token(request.raw_path), "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer"})
        keep_token(moved, request, token or "")
        return moved
    response = await handler(request)
    if from_query and not response.prepared:
        keep_token(response, request, token or "")
    return response
