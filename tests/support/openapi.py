"""Checking answers against ``mediasrv/server/openapi.json`` (API, fault and fuzz tests)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from mediasrv.server.openapi import SPEC_FILE

BASE = "urn:mediasrv-openapi"


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_FILE.read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:  # type: ignore[type-arg]
    return Registry().with_resource(BASE, DRAFT202012.create_resource(spec()))


def pointer(*parts: str) -> str:
    """A JSON pointer into the spec (``/`` in a part is escaped)."""
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validate_at(ref: str, instance: Any) -> None:
    """Validate ``instance`` against the schema at ``ref`` (a pointer into the spec)."""
    Draft202012Validator({"$ref": BASE + ref}, registry=_registry()).validate(instance)


def response(path: str, method: str, status: int) -> dict[str, Any]:
    """The documented response (a ``$ref`` to components/responses followed)."""
    found = spec()["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in found:
        found = spec()["components"]["responses"][found["$ref"].rpartition("/")[2]]
    return found  # type: ignore[no-any-return]


def check_json(path: str, method: str, status: int, body: Any) -> None:
    """Assert that ``body`` is what the description says ``method path`` answers with ``status``."""
    spec_paths = spec()["paths"]
    assert path in spec_paths, f"{path} is not documented"
    responses = spec_paths[path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path}: status {status} is not documented"
    ref = responses[str(status)].get("$ref")
    if ref is not None:
        where = ref.removeprefix("#") + "/content/application~1json/schema"
        validate_at("#" + where, body)
    else:
        validate_at(pointer("paths", path, method.lower(), "responses", str(status), "content",
                            "application/json", "schema"), body)


def check_event(name: str, data: Any) -> None:
    """Assert that an event of ``/api/events`` is one the description names, with its shape."""
    events = spec()["paths"]["/api/events"]["get"]["responses"]["200"]["content"][
        "text/event-stream"]["x-events"]
    assert name in events, f"event {name!r} is not documented"
    validate_at(events[name]["$ref"], data)


async def read_events(content: Any) -> AsyncIterator[tuple[str, Any]]:
    """(name, data) of each event of an aiohttp event-stream body."""
    name, data = "", ""
    async for raw in content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            yield name, json.loads(data)
            name, data = "", ""
