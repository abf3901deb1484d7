"""Middlewares: domain errors to JSON answers, origin checks, the access token."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..errors import MediasrvError
from .keys import SETTINGS

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
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    render = request.app.get(HTML_ERROR)
    if render is not None and wants_html(request):
        return await render(request, status, code, message)
    response = error_response(status, code, message)
    if status == 503:
        response.headers["Retry-After"] = "2"
    return response


HTML_ERROR = web.AppKey(
    "html_error", Callable[[web.Request, int, str, str], Awaitable[web.StreamResponse]]
)


def _same_origin(request: web.Request, origin: str) -> bool:
    return origin in (f"{request.scheme}://{request.host}", f"http://{request.host}",
                      f"https://{request.host}")


@web.middleware
async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse cross-origin writes; require the token when one is set."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        site = request.headers.get("Sec-Fetch-Site")
        if (origin is not None and origin != "null" and not _same_origin(request, origin)) or (
            origin == "null" or site == "cross-site"
        ):
            return error_response(403, "forbidden_origin",
                                  "requests from another site may not change this server")
    token = request.app[SETTINGS].token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or request.query.get("token", "") or request.cookies.get(TOKEN_COOKIE, "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return error_response(401, "unauthorized",
                                  "an access token is required (Authorization: Bearer TOKEN)")
        response = await handler(request)
        if request.query.get("token") and not response.prepared:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response
    return await handler(request)
