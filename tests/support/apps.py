"""An app as ``mediasrv serve`` builds it: a leader from the settings, handed to create_app."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mediasrv.serve.leader import Leader, LeaderOptions
from mediasrv.server import create_app
from mediasrv.settings import Settings


def make_app(settings: Settings, options: LeaderOptions | None = None,
             **app_options: Any) -> web.Application:
    """``create_app`` with a leader built from ``settings`` and ``options``."""
    return create_app(settings, Leader(settings, options), **app_options)
