"""``natural_keys`` (the builder's fast path) gives exactly ``natural_key`` for every path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mediasrv.natural import natural_key, natural_keys

_PART = st.text(alphabet="aZ09 _-.ßİΣσς日\udcff", min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_PART, min_size=1, max_size=4).map("/".join), max_size=20))
def test_natural_keys_equal_natural_key(paths: list[str]) -> None:
    assert natural_keys(paths) == [natural_key(p) for p in paths]


def test_natural_keys_on_fixed_paths() -> None:
    paths = ["a/img10.jpg", "a/img2.jpg", "a1/b22/c333d", "x10y", "A/ß/IMG2.JPG", "a/img10.jpg"]
    assert natural_keys(paths) == [natural_key(p) for p in paths]
    assert natural_keys(["a/img2.jpg", "B7/x"]) == [
        ("a\x00img00012.jpg", "a/img2.jpg"), ("b00017\x00x", "B7/x"),
    ]
