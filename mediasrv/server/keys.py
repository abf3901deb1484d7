"""Typed application keys: how handlers reach the settings, library and coordinator."""

from __future__ import annotations

import random
from pathlib import Path

import jinja2
from aiohttp import web

from ..hosts import HostPolicy, RefusalLog
from ..index.cachedir import CacheDir
from ..media.thumbs import Thumbnailer
from ..serve.coordinator import RescanCoordinator
from ..serve.leader import Leader
from ..serve.library import Library
from ..settings import Settings

SETTINGS = web.AppKey("settings", Settings)
# What keeps the library current (scans and the watcher, or following); the
# library, the cache dir and the coordinator below are its parts.
LEADER = web.AppKey("leader", Leader)
LIBRARY = web.AppKey("library", Library)
COORDINATOR = web.AppKey("coordinator", RescanCoordinator)
CACHE = web.AppKey("cache", CacheDir)
RNG = web.AppKey("rng", random.Random)
# The names requests may carry (checked when no token is set), and the log of refusals.
HOSTS = web.AppKey("hosts", HostPolicy)
REFUSALS = web.AppKey("host_refusals", RefusalLog)
# The web UI (set up by the pages component): templates, web/static files with
# their content hashes, the kind icons as bytes, and the thumbnail maker.
TEMPLATES = web.AppKey("templates", jinja2.Environment)
STATIC = web.AppKey("static_files", dict[str, tuple[Path, str]])
ICON_SVG = web.AppKey("icon_svg", dict[str, bytes])
THUMBS = web.AppKey("thumbnailer", Thumbnailer)
