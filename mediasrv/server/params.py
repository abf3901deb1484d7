"""Reading request parameters exactly, including names that are not valid UTF-8."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from aiohttp import web

from ..errors import BadParameter
from ..names import url_unquote

MAX_LIMIT = 1000
_INTEGER = re.compile(r"-?[0-9]+")


def query(request: web.Request) -> dict[str, str]:
    """The query string decoded byte-exact (``%FF`` stays the byte 0xFF)."""
    raw = request.raw_path.partition("?")[2]
    return dict(parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="surrogateescape"))


def query_all(request: web.Request, name: str) -> list[str]:
    """Every value of ``name`` in the query string, in order, decoded byte-exact."""
    raw = request.raw_path.partition("?")[2]
    return [v for k, v in parse_qsl(raw, keep_blank_values=True, encoding="utf-8",
                                    errors="surrogateescape") if k == name]


def tail(request: web.Request, prefix: str) -> str:
    """The part of the raw path after ``prefix``, percent-decoded byte-exact."""
    raw = request.raw_path.partition("?")[0]
    if not raw.startswith(prefix):
        raise web.HTTPNotFound()
    return url_unquote(raw[len(prefix):])


def integer(params: dict[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    # Plain ASCII digits only: int() would also take " 5", "5_000" and other
    # scripts' digits.
    if not _INTEGER.fullmatch(raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"  # never echo 8 KB back
        raise BadParameter(f"{name} must be a whole number, not {shown!r}")
    if len(raw) > 30:  # beyond any bound: say so without converting 8,000 digits
        raise BadParameter(f"{name} must be between {low} and {high}, "
                           f"not a number of {len(raw.lstrip('-'))} digits")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, not {value}")
    return value


def required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise BadParameter(f"the {name!r} parameter is required")
    if "\x00" in value:
        raise BadParameter(f"{name} must not contain a NUL character")
    return value
