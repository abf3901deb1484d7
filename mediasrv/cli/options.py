"""The command line's options: one flag per setting, generated from ``settings.Settings``.

Every flag can also be set with ``MEDIASRV_<FLAG>``; the README's table of
settings is generated here too (``settings_table``, checked by a test).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UserError
from ..names import display
from ..settings import Settings, default_text, env_name, fields_for, flag_name, from_sources

COMMANDS = {
    "serve": "index ROOT and serve it over HTTP; rescans never block browsing",
    "scan": "build and publish a new generation of ROOT's index, print a summary",
    "db-path": "print the path of ROOT's current index (for sqlite3)",
    "token": "print a fresh random access token, for --token",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediasrv", description="A self-hosted media browser; rescans never block browsing."
    )
    parser.add_argument("--version", action="version", version=f"mediasrv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command, help_text in COMMANDS.items():
        p = sub.add_parser(command, help=help_text, description=help_text)
        for f in fields_for(command):
            env = env_name(f)
            if f.name == "root":
                p.add_argument("root", type=Path, nargs="?", metavar="ROOT",
                               help=f"{f.metadata['help']} (env {env})")
                continue
            flag = "--" + flag_name(f)
            value, note = default_text(f)
            shown = f"{value}, {note}" if note else value
            text = f"{f.metadata['help']} (default: {shown}; env {env})"
            if isinstance(f.default, bool):
                if f.metadata["flag"] == "no-" + f.name:
                    p.add_argument(flag, dest=f.name, action="store_const", const=False,
                                   help=text)
                else:
                    p.add_argument(flag, dest=f.name, action="store_const", const=True,
                                   help=text)
            elif isinstance(f.default, tuple):
                p.add_argument(flag, dest=f.name, action="append",
                               metavar=f.metadata["metavar"] or "NAME", help=text)
            else:
                kind: Any = type(f.default) if f.default is not None else str
                if f.name == "cache_dir":
                    kind = Path
                p.add_argument(flag, dest=f.name, type=kind, choices=f.metadata["choices"],
                               metavar=None if f.metadata["choices"] else (
                                   f.metadata["metavar"] or f.name.upper()),
                               help=text)
    return parser


def settings_from_args(args: argparse.Namespace, environ: dict[str, str]) -> Settings:
    given = {k: v for k, v in vars(args).items() if k != "command"}
    if given.get("root") is None and not environ.get("MEDIASRV_ROOT"):
        raise UserError("which library? give ROOT (or set MEDIASRV_ROOT)")
    settings = from_sources(args.command, given, environ)
    root = settings.root
    if not root.exists():
        raise UserError(f"library root {display(str(root))} does not exist")
    if not root.is_dir():
        raise UserError(f"library root {display(str(root))} is not a folder")
    if not os.access(root, os.R_OK | os.X_OK):
        raise UserError(f"library root {display(str(root))} is not readable")
    return settings


def settings_table() -> str:
    """The Markdown table of settings for the README (checked by a test)."""
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for f in dataclasses.fields(Settings):
        if f.name == "root":
            continue
        flag = "--" + flag_name(f)
        value, note = default_text(f)
        default = value if value in ("off", "none") else f"`{value}`"
        default += f" ({note})" if note else ""
        rows.append(f"| `{flag}` | `{env_name(f)}` | {default} | {f.metadata['help']} |")
    return "\n".join(rows)
