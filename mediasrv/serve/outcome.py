"""What a scan reported, on the server's side: ``ScanOutcome``, checked once as it arrives.

The scan process sends its ``ScanResult`` (``mediasrv/scan/build.py``) as one
JSON line; ``ScanOutcome.from_message`` turns it back into a dataclass with the
same fields, so the coordinator and ``/api/status`` read attributes, not keys
of a dict anyone may change. A message that does not have the shape fails the
scan with a clear reason instead of a ``KeyError`` somewhere later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ScanFailed

STATUSES = ("published", "unchanged")


@dataclass(frozen=True)
class ScanOutcome:
    """A finished scan's result, as ``ScanResult`` has it (moves as pairs of str)."""

    status: str
    generation: int
    db_path: str
    files: int
    tags: int
    added: int
    removed: int
    changed: int
    duration_s: float
    walk: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    mode: str | None = None
    scope: str = "all"
    moves: list[tuple[str, str]] = field(default_factory=list)
    # Keys a newer scan process reports that this server does not know: passed on as they are.
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> ScanOutcome:
        """The outcome in a ``result`` message (without its ``type`` and ``id``), or ScanFailed."""
        try:
            return cls._parse(message)
        except (KeyError, TypeError, ValueError) as exc:
            raise ScanFailed(f"the scan process sent a malformed result: {exc}") from None

    @classmethod
    def _parse(cls, message: dict[str, Any]) -> ScanOutcome:
        status = _typed(message, "status", str)
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        moves = message.get("moves") or []
        if not isinstance(moves, list) or not all(
            isinstance(m, list | tuple) and len(m) == 2 for m in moves
        ):
            raise TypeError("moves is not a list of (old path, new path) pairs")
        mode = message.get("mode")
        if mode is not None and not isinstance(mode, str):
            raise TypeError(f"mode has type {type(mode).__name__}, not str")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        return cls(
            status=status,
            generation=_typed(message, "generation", int),
            db_path=_typed(message, "db_path", str),
            **{key: _typed(message, key, int) for key in ("files", "tags", "added", "removed",
                                                          "changed")},
            duration_s=float(_typed(message, "duration_s", int | float)),
            walk=_typed(message, "walk", dict, {}),
            probe=_typed(message, "probe", dict, {}),
            mode=mode,
            scope=_typed(message, "scope", str, "all"),
            moves=[(str(old), str(new)) for old, new in moves],
            extra={k: v for k, v in message.items() if k not in known},
        )

    def reported(self) -> dict[str, Any]:
        """What a scan's entry in /api/status adds of this beyond its own keys.

        The list of moves is no business of /api/status: it shows how many.
        """
        return {"db_path": self.db_path, "tags": self.tags, "scope": self.scope,
                **self.extra, "moved": len(self.moves)}


def _typed(message: dict[str, Any], key: str, kind: Any, default: Any = ...) -> Any:
    """``message[key]`` if it is a ``kind`` (a bool is no number); ``default`` if absent."""
    if key not in message and default is not ...:
        return default
    value = message[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"{key} has type {type(value).__name__}")
    return value
