"""How the HTTP layer logs requests it cannot even parse: one line each, no traceback.

aiohttp answers a malformed request (a NUL or a bad character in a header, a
request line over 8,190 bytes, a bad method) with a plain-text 400 before any
handler runs, and logs it with ``logger.exception``: a full traceback at
ERROR for what is the client's mistake, which a scanner or fuzzer can repeat
at will. The server is given this logger instead (``handler_args``): a
malformed request becomes one WARNING line; every other error is logged as
aiohttp logs it, traceback included, because that one is ours.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

MAX_DETAIL = 200  # characters of the parser's message kept (it quotes the request)


def describe(exc: HttpProcessingError) -> str:
    """The parser's complaint on one line, cut short: it may quote 8 KB of the request."""
    text = " ".join(str(exc.message or exc).split())
    return f"{exc.code} {text[:MAX_DETAIL]}{'…' if len(text) > MAX_DETAIL else ''}"


class ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, with malformed requests told in one line."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__(logger or logging.getLogger("aiohttp.server"), {})

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError) and level >= logging.ERROR:
            remote = args[0] if args else "?"
            self.logger.warning("malformed request from %s refused: %s", remote, describe(exc))
            return
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs
