"""Where things live: HTTP stays in mediasrv/server/, the rest never needs aiohttp."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mediasrv"
# The command line starts the server, so it imports aiohttp when it serves.
STARTS_THE_SERVER = {"cli/serving.py"}


def runtime_imports(path: Path) -> set[str]:
    """Top-level module names ``path`` imports when run (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def test_only_the_server_package_imports_aiohttp() -> None:
    outside = [p for p in PACKAGE.rglob("*.py")
               if "server" not in p.relative_to(PACKAGE).parts
               and p.relative_to(PACKAGE).as_posix() not in STARTS_THE_SERVER]
    assert len(outside) > 20
    assert [str(p.relative_to(PACKAGE)) for p in outside if "aiohttp" in runtime_imports(p)] == []


def test_server_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / "server").glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 300} == {}
