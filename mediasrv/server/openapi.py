"""``/api/openapi.json``: the OpenAPI 3.1 description of the JSON API, as one file in the package.

The file (``openapi.json`` beside this module) is the contract scripts read;
tests validate it as OpenAPI 3.1, check it against the routes both ways and
fuzz the server against it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web

from .. import __version__

SPEC_FILE = Path(__file__).with_name("openapi.json")

routes = web.RouteTableDef()


@cache
def spec() -> dict[str, Any]:
    """The description, with this package's version filled in."""
    found: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    found["info"]["version"] = __version__
    return found


@cache
def _body() -> bytes:
    return json.dumps(spec(), indent=1).encode()


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=_body(), content_type="application/json",
                        headers={"Cache-Control": "no-cache"})
