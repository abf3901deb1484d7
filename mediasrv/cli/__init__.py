"""The ``mediasrv`` command: serve, scan, db-path, token.

Flags are generated from the ``settings.Settings`` dataclass (``options.py``);
every flag can also be set with ``MEDIASRV_<FLAG>``. A user's mistake, or a
scan that fails, is one line on stderr and exit status 2, never a traceback.
The commands: ``serving.py`` (serve), ``scanning.py`` (scan, db-path).
"""

from __future__ import annotations

import logging
import os
import sys

from ..errors import MediasrvError
from ..settings import new_token
from .options import build_parser, settings_from_args, settings_table
from .progress import ProgressLine
from .scanning import db_path, scan
from .serving import run_server, serve

__all__ = [
    "ProgressLine",
    "build_parser",
    "db_path",
    "main",
    "run_server",
    "scan",
    "serve",
    "settings_from_args",
    "settings_table",
]


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ if environ is None else environ)
    args = build_parser().parse_args(argv)
    if args.command == "token":
        print(new_token())
        return 0
    try:
        settings = settings_from_args(args, env)
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s",
            datefmt="%H:%M:%S", stream=sys.stderr,
        )
        if args.command == "serve":
            return serve(settings)
        if args.command == "scan":
            return scan(settings)
        return db_path(settings)
    except MediasrvError as exc:
        print(f"mediasrv: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mediasrv: interrupted", file=sys.stderr)
        return 130
