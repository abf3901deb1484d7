"""HTTP: the aiohttp application, its JSON API, media bytes and pages."""

from .app import create_app

__all__ = ["create_app"]
