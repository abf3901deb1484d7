"""What a file's name says: its kind, its tags, its sort key and its search words.

Names on disk are bytes; Python hands them to us decoded with
``surrogateescape``, so a name that is not valid UTF-8 arrives as a ``str``
with lone surrogates. Those strings are exact (they map back to the same
bytes) but cannot be encoded to UTF-8 as they are. The helpers here carry them
through SQLite, URLs and HTML without losing a byte.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from urllib.parse import quote, unquote_to_bytes

from .natural import natural_key

ALL_TAG = "All"
ALL_KEY = "all"  # tag_key(ALL_TAG)

KINDS: dict[str, frozenset[str]] = {
    "image": frozenset(
        [
            "jpg",
            "jpeg",
            "jpe",
            "jfif",
            "png",
            "gif",
            "webp",
            "bmp",
            "tif",
            "tiff",
            "heic",
            "heif",
            "avif",
            "svg",
            "ico",
            "jxl",
        ]
    ),
    "video": frozenset(
        [
            "mp4",
            "m4v",
            "mkv",
            "webm",
            "mov",
            "avi",
            "wmv",
            "mpg",
            "mpeg",
            "3gp",
            "ogv",
            "ts",
            "mts",
            "m2ts",
            "flv",
        ]
    ),
    "audio": frozenset(
        [
            "mp3",
            "flac",
            "ogg",
            "oga",
            "opus",
            "m4a",
            "aac",
            "wav",
            "wma",
            "aif",
            "aiff",
            "alac",
            "ape",
        ]
    ),
}
_KIND_OF_EXT = {ext: kind for kind, exts in KINDS.items() for ext in exts}

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
# A word is a run of letters or a run of digits: "IMG_0042" and "img0042" are
# both the words "img" and "0042", so "img 42" and "IMG_42" find the same files.
_WORD = re.compile(r"[^\W\d_]+|\d+")


def split_ext(name: str) -> tuple[str, str]:
    """Split ``name`` into stem and lower-case extension (without the dot)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:  # "README" or ".bashrc": no extension
        return name, ""
    return stem, ext.lower()


def ext_of_path(path: str) -> str:
    """``split_ext`` of a path's last component, without splitting the path first."""
    head, dot, ext = path.rpartition(".")
    if not dot or "/" in ext or not head or head[-1] == "/":
        return ""
    return ext.lower()


def kind_of(ext: str) -> str:
    """The kind of a file with extension ``ext``: image, video, audio or other."""
    return _KIND_OF_EXT.get(ext.lower(), "other")


def bracket_tags(stem: str) -> list[str]:
    """TagSpaces tags in a file stem: ``sunset[beach family]`` -> beach, family."""
    tags: list[str] = []
    for group in _BRACKETS.findall(stem):
        tags.extend(group.split())
    return tags


def folder_tags(folder: str) -> list[str]:
    """Tag names a folder gives its files: ``All`` and each folder name on the way, as
    spelled (``tag_keys`` says which tags they are)."""
    return list(dict.fromkeys([ALL_TAG, *(folder.split("/") if folder else ())]))


def tags_of(path: str, extra: Collection[str] = ()) -> list[str]:
    """All tag names of a relative ``/``-path as spelled, ``All`` first, without duplicates;
    ``extra``: the tags the file's contents give it (a song's artist, album, genre)."""
    folder, _, name = path.rpartition("/")
    tags = folder_tags(folder)
    if "[" in name:
        tags = list(dict.fromkeys([*tags, *bracket_tags(split_ext(name)[0])]))
    if extra:
        tags = list(dict.fromkeys([*tags, *extra]))
    return tags


def tag_key(name: str) -> str:
    """What makes two tag names one tag: letter case is ignored (``Beach`` is ``beach``).

    A name that is not valid UTF-8 is compared by its ``printable`` text (U+FFFD for
    each byte that does not decode), so the key is always valid UTF-8 (the
    ``tags.key`` column).
    """
    return name.casefold() if name.isascii() else printable(name).casefold()


def tag_keys(spellings: Iterable[str]) -> list[str]:
    """The tags (keys) that ``spellings`` name, in order, without duplicates."""
    return list(dict.fromkeys(map(tag_key, spellings)))


def shown_spelling(counts: Mapping[str, int]) -> str:
    """The name a tag is shown by: its spelling on the most files, ties in natural order.

    ``counts`` are the files carrying each spelling of one tag. ``All`` keeps
    its name whatever folders spell it otherwise (every file carries it).
    """
    if ALL_TAG in counts:
        return ALL_TAG
    return min(counts, key=lambda s: (-counts[s], natural_key(s)))


# Names that are not UTF-8 were nearly always written by an old camera or by Windows in
# Windows-1252 (Latin-1 with punctuation at 0x80-0x9F: 0x92 is ’); the five bytes it
# leaves undefined stay as Latin-1 reads them, so every byte shows as one character.
GUESSED_AS = "Windows-1252"
_CP1252_HIGH = {
    b: char for b in range(0x80, 0xA0) if (char := bytes([b]).decode("cp1252", "ignore"))
}


def display(text: str) -> str:
    """``text`` as people read it: each ``/``-separated name that is not valid UTF-8 is
    decoded as Windows-1252 (``GUESSED_AS``), a best guess; valid names are themselves.

    Only for showing: lookups, keys and URLs use the exact name or ``printable``. Each
    name is decoded whole (one program wrote it); its folders may be another's.
    """
    if text.isascii() or is_clean(text):
        return text
    return "/".join(part if is_clean(part) else _guess(part) for part in text.split("/"))


def _guess(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("latin-1").translate(_CP1252_HIGH)


def printable(text: str) -> str:
    """``text`` as the index stores it: each byte that is not UTF-8 becomes U+FFFD.

    Tag keys and search words are made from it, so they stay what every generation
    holds (a delta build carries them over): ``Caf\\xe9`` is found by ``caf``, not ``café``.
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def is_clean(text: str) -> bool:
    """True when ``text`` came from valid UTF-8 (no escaped bytes in it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def db_text(text: str) -> tuple[str, bytes | None]:
    """The two columns that store ``text``: valid UTF-8 to show, and its exact bytes.

    Plain names (nearly all) are ``(text, None)``. A name that is not valid
    UTF-8 is stored as its printable form (U+FFFD for each byte that does not
    decode) beside its exact bytes, so every TEXT value in a generation is
    valid UTF-8 and nothing is lost.
    """
    if text.isascii() or is_clean(text):
        return text, None
    raw = text.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "replace"), raw


def from_db(value: str | bytes) -> str:
    """The exact name from ``coalesce(x_bytes, x)``: bytes are decoded with surrogateescape."""
    return value if isinstance(value, str) else value.decode("utf-8", "surrogateescape")


def blob(text: str) -> bytes:
    """A path or name as a build's own files keep it (the staging file, what a child
    process is given): UTF-8 in code point order, ``surrogatepass`` keeping the lone
    surrogates that stand for a name's bytes that are not UTF-8."""
    return text.encode("utf-8", "surrogatepass")


def unblob(raw: bytes) -> str:
    """``blob`` undone."""
    return raw.decode("utf-8", "surrogatepass")


def tag_order(names: Collection[str]) -> list[str]:
    """Tags as pages list them: ``All`` first, then natural name order."""
    rest = sorted((n for n in names if n != ALL_TAG), key=natural_key)
    return [ALL_TAG, *rest] if ALL_TAG in names else rest


_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")
# ASCII characters a URL path must escape, as urllib.parse.quote(safe="/") does.
_ASCII_ESCAPES = {i: f"%{i:02X}" for i in range(128) if chr(i) not in _URL_SAFE}
# A path of only these characters is its own URL.
is_url_plain = re.compile(r"[A-Za-z0-9_.~/-]*").fullmatch


def url_quote(text: str) -> str:
    """Percent-encode a path for a URL, byte-exact even for undecodable names.

    Every file of every page goes through here, so plain ASCII names (most
    of them) take a C-speed ``str.translate``, about ten times faster than
    ``urllib.parse.quote``, with the same result.
    """
    if text.isascii():
        return text if is_url_plain(text) else text.translate(_ASCII_ESCAPES)
    return quote(text.encode("utf-8", "surrogateescape"), safe="/")


def url_unquote(text: str) -> str:
    """Inverse of ``url_quote``: ``%FF`` comes back as the same escaped byte."""
    return unquote_to_bytes(text).decode("utf-8", "surrogateescape")


def search_words(text: str) -> set[str]:
    """The words a file can be found by: runs of letters and runs of digits, case-folded."""
    return set(_WORD.findall(printable(text).casefold()))


def name_only_words(path: str) -> set[str]:
    """Words of a path's file name that its folder's path does not have (see name_words)."""
    folder, _, name = path.rpartition("/")
    return search_words(name) - search_words(folder)


def query_words(query: str) -> list[str]:
    """The words of a search query, in the same form as ``search_words``."""
    return sorted(set(_WORD.findall(printable(query).casefold())))
