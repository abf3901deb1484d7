"""JSON answers, encoded fast: orjson, and the standard library where orjson refuses.

A page of 100 files is encoded by orjson in about 22 µs against 150 µs for
``json.dumps``. orjson refuses what the API must still carry: a lone
surrogate (a name that is not UTF-8, carried as ``\\udce9``, see the OpenAPI
description) and integers beyond 64 bits; such an answer is encoded by
``json`` instead, as it always was. Either way the client decodes the same
value (orjson writes UTF-8 where ``json`` writes ``\\u`` escapes, and no
spaces). The one difference, a float that is not finite, never occurs: no
answer holds one (durations are counts of a time base), and orjson's
``null`` is valid JSON where ``json``'s ``Infinity`` was not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web


def dumps(data: Any) -> bytes:
    """``data`` as JSON bytes."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # a name that is not UTF-8 (rare): the slow, exact way
        return json.dumps(data).encode("ascii")


def dumps_with_list(data: Mapping[str, Any], key: str, items: list[str]) -> bytes:
    """``dumps({**data, key: [...]})`` where the list's values are already JSON text
    (``snapshot/rendered.py``: a page's files, written by SQLite): its key comes last."""
    head = dumps(data)
    return b"".join(
        (
            head[:-1],
            b',"' if len(head) > 2 else b'"',
            key.encode(),
            b'":[',
            ",".join(items).encode(),
            b"]}",
        )
    )


def json_response(
    data: Mapping[str, Any] | bytes,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """``web.json_response``, with ``dumps`` (``data`` already encoded if bytes)."""
    return web.Response(
        body=data if isinstance(data, bytes) else dumps(data),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )
