"""Typed application keys: how handlers reach the settings, library and coordinator."""

from __future__ import annotations

import random
from typing import Any

from aiohttp import web

from ..cache import CacheDir
from ..hosts import HostPolicy, RefusalLog
from ..library import Library
from ..rescan import RescanCoordinator
from ..settings import Settings
from ..watch.supervisor import Watcher

SETTINGS = web.AppKey("settings", Settings)
LIBRARY = web.AppKey("library", Library)
COORDINATOR = web.AppKey("coordinator", RescanCoordinator)
CACHE = web.AppKey("cache", CacheDir)
# Extra parts of /api/status contributed by other parts (the watcher).
STATUS_EXTRAS = web.AppKey("status_extras", dict[str, Any])
# Paths found gone from disk, per generation, until a rescan drops them.
VANISHED = web.AppKey("vanished", dict[int, set[str]])
RNG = web.AppKey("rng", random.Random)
# The names requests may carry (checked when no token is set), and the log of refusals.
HOSTS = web.AppKey("hosts", HostPolicy)
REFUSALS = web.AppKey("host_refusals", RefusalLog)
# The watcher, while the app runs with watching on.
WATCHER = web.AppKey("watcher", Watcher)
