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


def polled_expressions(path: Path) -> list[int]:
    """Lines where ``wait_for_function`` gets a string that is not a function.

    Playwright evaluates a function's source once, but polls a bare expression with
    ``eval``, and the pages' Content-Security-Policy (``script-src 'self'``) refuses
    that. It shows only when the first poll is false, i.e. on a loaded machine.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "wait_for_function" and node.args):
            source = node.args[0]
            text = source.value if isinstance(source, ast.Constant) else ""
            if isinstance(source, ast.JoinedStr):
                first = source.values[0] if source.values else None
                text = first.value if isinstance(first, ast.Constant) else ""
            if not isinstance(text, str) or not _a_function(text):
                found.append(node.lineno)
    return found


def _a_function(source: str) -> bool:
    head = source.lstrip()
    return head.startswith(("function", "async", "(")) or "=>" in head.split("\n", 1)[0][:40]


def test_browser_tests_wait_on_functions_not_expressions(tmp_path: Path) -> None:
    offending = {str(path.relative_to(TESTS)): lines for path in TESTS.rglob("*.py")
                 if (lines := polled_expressions(path))}
    assert offending == {}
    bad = tmp_path / "bad.py"
    bad.write_text("page.wait_for_function(\"document.title !== ''\")\n"
                   "page.wait_for_function(\"() => document.title\")\n"
                   "page.wait_for_function(\"s => s.length\", arg='x')\n"
                   "page.wait_for_function(f\"{x} > 2\")\n", encoding="utf-8")
    assert polled_expressions(bad) == [1, 4]
