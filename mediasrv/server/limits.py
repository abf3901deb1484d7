"""How long a request line may be: a URL over 8 KB gets a clear 414, not a dropped connection.

aiohttp's parser refuses a request line over ``max_line_size`` with a bare
400 and closes the connection while the client may still be sending, and a
close with unread data is a TCP reset: the client sees "connection reset",
not the answer. So the parser reads lines up to ``READ_LINE`` bytes, and this
middleware answers any URL over ``MAX_URL`` with ``414 uri_too_long`` (a page for a
browser: a search typed or pasted far too long is a page that says so, not JSON).
"""

from __future__ import annotations

from aiohttp import web

from .middleware import Handler, error_answer

MAX_URL = 8190  # aiohttp's own default line limit, more than any link of ours needs
READ_LINE = 2 * 1024 * 1024  # read this much of a request line, to answer it (a 1 MB query)


@web.middleware
async def url_length(request: web.Request, handler: Handler) -> web.StreamResponse:
    size = len(request.raw_path)
    if size > MAX_URL:
        return await error_answer(
            request, 414, "uri_too_long",
            f"the URL is {size:,} bytes long; at most {MAX_URL:,} are accepted")
    return await handler(request)
