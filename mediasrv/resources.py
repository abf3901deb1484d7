"""Where the files that ship beside the code live: migrations/ and web/."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``migrations`` or ``web``).

    A wheel carries it inside the package; a source checkout (including an
    editable install) has it at the top of the repository.
    """
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise RuntimeError(f"mediasrv is missing its {name}/ folder (looked beside {_PACKAGE})")
