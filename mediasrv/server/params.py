"""Reading request parameters exactly, including names that are not valid UTF-8."""

from __future__ import annotations

import re
from typing import overload
from urllib.parse import parse_qsl

from aiohttp import web

from ..errors import BadParameter
from ..names import display, url_unquote

MAX_LIMIT = 1000
_INTEGER = re.compile(r"-?[0-9]+")


class Query(dict[str, str]):
    """Query parameters by name; reading one that was given more than once is a BadParameter.

    Which of two values counts is a guess, and proxies and servers guess
    differently; parameters nobody reads may repeat freely.
    """

    def __init__(self, pairs: list[tuple[str, str]], repeatable: tuple[str, ...]) -> None:
        super().__init__(pairs)
        names = [name for name, _ in pairs]
        self.repeated = {n: names.count(n) for n in self if n not in repeatable
                         and names.count(n) > 1} if len(self) != len(pairs) else {}

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        if name in self.repeated:
            raise BadParameter(f"{display(name)[:40]!r} is given {self.repeated[name]} times; "
                               "give it once")
        return super().get(name, default)


def query(request: web.Request, *, repeatable: tuple[str, ...] = ()) -> Query:
    """The query string decoded byte-exact (``%FF`` stays the byte 0xFF).

    A parameter given twice may be read only if it is ``repeatable`` (read
    all its values with ``query_all``).
    """
    raw = request.raw_path.partition("?")[2]
    return Query(parse_qsl(raw, keep_blank_values=True, encoding="utf-8",
                           errors="surrogateescape"), repeatable)


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


def integer(params: Query, name: str, default: int, *, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default  # absent; an empty value is not a number (below)
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


def required(params: Query, name: str) -> str:
    value = params.get(name)
    if not value:
        raise BadParameter(f"the {name!r} parameter is required")
    if "\x00" in value:
        raise BadParameter(f"{name} must not contain a NUL character")
    return value


def choice(params: Query, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when the parameter is absent or empty)."""
    value = params.get(name) or choices[0]
    if value not in choices:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise BadParameter(f"{name} must be one of {', '.join(choices)}, not {shown!r}")
    return value
