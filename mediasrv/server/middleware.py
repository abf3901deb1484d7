"""Middlewares: domain errors to JSON answers; the Host, origin and access-token checks."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from ..errors import MediasrvError
from ..hosts import host_name
from .keys import HOSTS, REFUSALS, SETTINGS

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_COOKIE = "mediasrv_token"


def error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


def wants_html(request: web.Request) -> bool:
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Map domain exceptions and HTTP errors to one JSON shape (or the HTML error page)."""
    allow = None
    try:
        return await handler(request)
    except MediasrvError as exc:
        status, code, message = exc.status, exc.code, str(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, code = exc.status, exc.reason.lower().replace(" ", "_")
        allow = exc.headers.get(hdrs.ALLOW)  # a 405 says which methods would do
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    render = request.app.get(HTML_ERROR)
    if render is not None and wants_html(request):
        return await render(request, status, code, message)
    response = error_response(status, code, message)
    if status == 503:
        response.headers["Retry-After"] = "2"
    if allow is not None:
        response.headers[hdrs.ALLOW] = allow
    return response


RenderError = Callable[[web.Request, int, str, str], Awaitable[web.StreamResponse]]
HTML_ERROR: web.AppKey[RenderError] = web.AppKey("html_error")


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


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer only to allowed names (or the token); refuse cross-origin writes.

    Without a token, a request must name this server by a loopback name or an
    ``--allowed-host`` (see ``mediasrv.hosts``). With a token, the token alone
    is the check, so the server may be reached by any name.
    """
    token = request.app[SETTINGS].token
    if not token and (refused := _host_refused(request)) is not None:
        return refused
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query.get("token", "") or request.cookies.get(TOKEN_COOKIE, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error_response(401, "unauthorized",
                                  "an access token is required (Authorization: Bearer TOKEN)")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _write_allowed(
        request, token_checked=bool(token)
    ):
        return error_response(403, "forbidden_origin",
                              "requests from another site may not change this server")
    response = await handler(request)
    if token and request.query.get("token") and not response.prepared:
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
    return response
