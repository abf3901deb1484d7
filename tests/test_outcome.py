"""A scan's result crosses the process boundary as JSON and is typed again on the server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mediasrv.errors import ScanFailed
from mediasrv.scan.build import ScanResult
from mediasrv.serve.events import Scan
from mediasrv.serve.outcome import ScanOutcome


def sent(**changes: Any) -> dict[str, Any]:
    """A result message as the scan process sends it (through JSON), with ``changes``."""
    result = ScanResult("published", 7, "/c/gen-7.db", 3, 2, 1, 0, 1, 0.25,
                        walk={"files": 3}, probe={"probed": 1}, mode="delta", scope="paths",
                        moves=[("a.jpg", "b/a.jpg")])
    return {**json.loads(json.dumps(result.as_dict())), **changes}


def test_a_result_comes_back_with_the_fields_it_was_sent_with() -> None:
    outcome = ScanOutcome.from_message(sent())
    assert outcome == ScanOutcome("published", 7, "/c/gen-7.db", 3, 2, 1, 0, 1, 0.25,
                                  walk={"files": 3}, probe={"probed": 1}, mode="delta",
                                  scope="paths", moves=[("a.jpg", "b/a.jpg")], extra={})


def test_status_shows_the_count_of_moves_and_passes_unknown_keys_on() -> None:
    scan = Scan(1, ["http"])
    scan.result = ScanOutcome.from_message(sent(seen={"full": False}))
    shown = scan.as_dict()
    assert list(shown)[:5] == ["db_path", "tags", "scope", "seen", "moved"]
    assert (shown["moved"], shown["seen"], shown["scan_s"], shown["generation"]) == (
        1, {"full": False}, 0.25, 7)
    assert "moves" not in shown


@pytest.mark.parametrize(("changes", "reason"), [
    ({"generation": "7"}, "generation has type str"),
    ({"files": True}, "files has type bool"),
    ({"status": "done"}, "status 'done' is not one of published, unchanged"),
    ({"moves": [["only one"]]}, "moves is not a list of (old path, new path) pairs"),
    ({"mode": 3}, "mode has type int, not str"),
])
def test_a_malformed_result_fails_the_scan_saying_why(changes: dict[str, Any],
                                                      reason: str) -> None:
    with pytest.raises(ScanFailed, match="malformed result") as caught:
        ScanOutcome.from_message(sent(**changes))
    assert reason in str(caught.value)


def test_a_result_without_a_required_field_fails_the_scan() -> None:
    message = sent()
    del message["db_path"]
    with pytest.raises(ScanFailed, match="malformed result: 'db_path'"):
        ScanOutcome.from_message(message)
