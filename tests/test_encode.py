"""JSON answers: orjson's encoding decodes to what json's did, lone surrogates included."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mediasrv.server.encode import dumps

# What answers hold: names of every kind (lone surrogates are bytes that are not UTF-8),
# integers (ns timestamps, and any size), floats (durations, always finite: json would write
# the invalid `Infinity`, orjson null), null, lists and objects.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None, exclude_categories=())),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(VALUES)
def test_decodes_to_what_json_encoded(value: Any) -> None:
    assert json.loads(dumps(value)) == json.loads(json.dumps(value))


def test_a_name_that_is_not_utf8_is_carried_as_a_lone_surrogate() -> None:
    assert dumps({"path": "caf\udce9.jpg"}) == b'{"path": "caf\\udce9.jpg"}'


def test_plain_answers_are_utf8_without_spaces() -> None:
    assert dumps({"path": "café.jpg", "size": 2**63 - 1, "duration": 1.5}) == (
        '{"path":"café.jpg","size":9223372036854775807,"duration":1.5}'.encode()
    )
    assert dumps({"mtime_ns": 2**64}) == b'{"mtime_ns": 18446744073709551616}'  # beyond orjson
