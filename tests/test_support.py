"""The tests' own rules: helpers come from tests/support, and its one ``until`` waits both ways."""

from __future__ import annotations

import ast
import asyncio
import threading
from pathlib import Path

import pytest

from .support import until

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> list[str]:
    """The relative imports of one file, as written (``.conftest``, ``..test_thumbs``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append("." * node.level + (node.module or ""))
    return found


def test_no_test_module_imports_another_or_a_conftest() -> None:
    offending = {
        str(path.relative_to(TESTS)): module
        for path in TESTS.rglob("*.py")
        for module in imported_modules(path)
        if module.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
    }
    assert offending == {}


def test_until_blocks_in_plain_code_and_returns_what_it_found() -> None:
    box: list[int] = []
    threading.Timer(0.05, box.append, [7]).start()
    assert until(lambda: box and box[0], "the timer") == 7


def test_until_fails_with_what_it_waited_for_and_last_saw() -> None:
    with pytest.raises(AssertionError, match=r"waiting for nothing; last saw 0"):
        until(lambda: 0, "nothing", timeout=0.1)


async def test_until_is_awaited_in_a_coroutine_and_takes_async_checks() -> None:
    box: list[str] = []
    asyncio.get_running_loop().call_later(0.05, box.append, "done")

    async def check() -> str | None:
        return box[0] if box else None

    assert await until(check, "the callback") == "done"
    assert await until(lambda: box[0], "a plain check") == "done"
