"""A file's dict: its URLs are its exact path percent-encoded, whatever the path holds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mediasrv.names import url_quote
from mediasrv.snapshot.base import file_dict

# Names as the filesystem hands them over: any bytes but NUL, decoded with surrogateescape
# (bytes that are not UTF-8 become lone surrogates), and names that repeat (the memo's hits).
PATHS = st.binary(min_size=1).filter(lambda b: b"\0" not in b).map(
    lambda b: b.decode("utf-8", "surrogateescape")
) | st.sampled_from(["Trips/img2.jpg", "Trips/a b[beach].jpg", "Café/é.jpg", "x/caf\udce9.jpg"])


@given(PATHS)
def test_urls_are_the_exact_path_quoted_and_versioned(path: str) -> None:
    found = file_dict((path, "jpg", "image", 20, -5, None, None, None, None))
    assert found["url"] == f"/media/{url_quote(path)}"
    assert found["thumb_url"] == f"/thumb/{url_quote(path)}?v=20--5"
    assert found["path"] == path
