"""What things are called in a zip download: its members, and the download itself.

Members are named by their path in the library as the README's display rule
shows it (a name that is not UTF-8 decoded as Windows-1252, a best guess), so
such a name can meet a UTF-8 name spelled alike; ``member_names`` keeps them
apart. The download is named after its tag in ``Content-Disposition`` (RFC
6266), with ``filename*`` (RFC 5987) for names that are not plain ASCII.
"""

from __future__ import annotations

from urllib.parse import quote

from ..names import display


def member_names(paths: list[str]) -> list[str]:
    """A distinct member name for each path: its display form (``names.display``).

    Names that are valid UTF-8 keep themselves; a name that only its display
    form makes equal to another one gets `` (2)``, `` (3)``… before its extension.
    """
    shown = [display(p) for p in paths]
    taken = {s for p, s in zip(paths, shown, strict=True) if p == s}
    names = []
    for path, name in zip(paths, shown, strict=True):
        if path != name:
            name = free_name(name, taken)
            taken.add(name)
        names.append(name)
    return names


def free_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with `` (N)`` before its extension, whichever is not taken."""
    if name not in taken:
        return name
    folder, slash, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem:  # "README", ".hidden": no extension to keep last
        stem, dot, ext = base, "", ""
    n = 2
    while (candidate := f"{folder}{slash}{stem} ({n}){dot}{ext}") in taken:
        n += 1
    return candidate


def download_name(tag: str) -> str:
    # A song's artist can hold a slash (AC/DC); a file name cannot.
    return f"{display(tag).replace('/', '_')}.zip"


def disposition(filename: str) -> str:
    """``Content-Disposition`` for ``filename`` (RFC 6266), ``filename*`` (RFC 5987) when
    it is not plain printable ASCII."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    if plain == filename:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
