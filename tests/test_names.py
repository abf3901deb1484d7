"""Kinds, tags, natural order and search words, derived from names alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediasrv.names import (
    bracket_tags,
    db_text,
    display,
    ext_of_path,
    from_db,
    kind_of,
    natural_key,
    query_words,
    search_words,
    split_ext,
    tags_of,
    url_quote,
    url_unquote,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.JPG", ("a", "jpg")),
        ("archive.tar.gz", ("archive.tar", "gz")),
        ("README", ("README", "")),
        (".bashrc", (".bashrc", "")),
        ("trailing.", ("trailing", "")),
    ],
)
def test_split_ext(name: str, expected: tuple[str, str]) -> None:
    assert split_ext(name) == expected


@pytest.mark.parametrize(
    ("ext", "kind"),
    [
        ("jpg", "image"),
        ("PNG", "image"),
        ("heic", "image"),
        ("mp4", "video"),
        ("mkv", "video"),
        ("mp3", "audio"),
        ("flac", "audio"),
        ("txt", "other"),
        ("", "other"),
    ],
)
def test_kind_by_extension(ext: str, kind: str) -> None:
    assert kind_of(ext) == kind


def test_tags_are_all_then_folders_then_brackets() -> None:
    assert tags_of("Trips/2024/Beach/sunset[beach family].jpg") == [
        "All",
        "Trips",
        "2024",
        "Beach",
        "beach",
        "family",
    ]


def test_root_file_has_only_all() -> None:
    assert tags_of("a.jpg") == ["All"]


def test_repeated_tags_appear_once() -> None:
    assert tags_of("x/x/a[x y x].jpg") == ["All", "x", "y"]


@pytest.mark.parametrize(
    ("stem", "tags"),
    [
        ("sunset[beach family]", ["beach", "family"]),
        ("a[ ]", []),
        ("a[one][two three]", ["one", "two", "three"]),
        ("no tags", []),
        ("unclosed[tag", []),
    ],
)
def test_bracket_tags(stem: str, tags: list[str]) -> None:
    assert bracket_tags(stem) == tags


def test_natural_order() -> None:
    paths = [
        "img10.jpg",
        "img2.jpg",
        "Img1.jpg",
        "img1.jpg",
        "a/b.jpg",
        "a b/c.jpg",
        "a/img10.jpg",
        "a/img9.jpg",
        "photo007.jpg",
        "photo7b.jpg",
    ]
    assert sorted(paths, key=natural_key) == [
        "a/b.jpg",
        "a/img9.jpg",
        "a/img10.jpg",
        "a b/c.jpg",
        "Img1.jpg",
        "img1.jpg",
        "img2.jpg",
        "img10.jpg",
        "photo007.jpg",
        "photo7b.jpg",
    ]


def test_search_words_fold_case_and_split_on_punctuation() -> None:
    assert search_words("Trips/2024/Beach/Sunset-Éclair_1.JPG") == {
        "trips",
        "2024",
        "beach",
        "sunset",
        "éclair",
        "1",
        "jpg",
    }
    assert query_words("  beach SUN ") == ["beach", "sun"]


@pytest.mark.parametrize("text", ["IMG_3.jpg", "img3.jpg", "IMG-3.JPG", "img 3.jpg"])
def test_letters_and_digits_are_words_of_their_own(text: str) -> None:
    assert search_words(text) == {"img", "3", "jpg"}


@pytest.mark.parametrize(("query", "words"), [
    ("img 3", ["3", "img"]), ("IMG_3", ["3", "img"]), ("img3", ["3", "img"]),
    ("DSC00042", ["00042", "dsc"]), ("2024年7月", ["2024", "7", "年", "月"]),
])
def test_a_query_is_split_the_same_way(query: str, words: list[str]) -> None:
    assert query_words(query) == words


BAD = b"caf\xe9.jpg".decode("utf-8", "surrogateescape")  # Latin-1 name on a UTF-8 disk


def test_undecodable_names_round_trip_through_urls() -> None:
    assert url_quote(f"x/{BAD}") == "x/caf%E9.jpg"
    assert url_unquote("x/caf%E9.jpg") == f"x/{BAD}"
    assert url_unquote(url_quote("a b/ü?#%.jpg")) == "a b/ü?#%.jpg"


def test_undecodable_names_display_and_bind_safely() -> None:
    assert display(BAD) == "café.jpg"  # a guess, for showing (test_guessed_names.py)
    assert db_text(BAD) == ("caf\ufffd.jpg", b"caf\xe9.jpg")
    assert db_text("café.jpg") == ("café.jpg", None)
    assert from_db(b"caf\xe9.jpg") == BAD
    assert from_db("café.jpg") == "café.jpg"


@given(st.text())
def test_url_quote_matches_urllib(text: str) -> None:
    from urllib.parse import quote

    assert url_quote(text) == quote(text.encode("utf-8", "surrogateescape"), safe="/")
    assert url_unquote(url_quote(text)) == text


@given(st.lists(st.text(alphabet="ab.J/ ", min_size=1, max_size=6), min_size=1, max_size=3))
def test_ext_of_path_agrees_with_split_ext(parts: list[str]) -> None:
    path = "/".join(parts)
    assert ext_of_path(path) == split_ext(path.rpartition("/")[2])[1]
