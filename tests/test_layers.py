"""Layers: nothing below the web layer (``mediasrv/server/``) imports aiohttp or it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mediasrv"
# The command line sits above the web layer: it builds the app and runs it.
ABOVE_THE_WEB = {"cli.py", "__main__.py"}
BELOW = sorted(
    p for p in PACKAGE.rglob("*.py")
    if p.relative_to(PACKAGE).parts[0] != "server"
    and str(p.relative_to(PACKAGE)) not in ABOVE_THE_WEB
)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved against the package."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = parts[:len(parts) - node.level] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", BELOW, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_lower_module_reaches_up_into_the_web_layer(path: Path) -> None:
    assert not {
        m for m in imported(path)
        if m.split(".")[0] == "aiohttp" or m.startswith(("mediasrv.server", "mediasrv.cli"))
    }


def test_the_watch_package_is_checked() -> None:
    assert {p.name for p in BELOW if p.parent.name == "watch"} >= {
        "inotify.py", "process.py", "supervisor.py",
    }
