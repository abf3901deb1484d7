"""Every setting in one place: its default, its help, its flag and its environment variable.

The command line (cli/options.py) and the README's table are generated from
``Settings`` dataclass; precedence is: flag, then ``MEDIASRV_<FLAG>``, then the default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .hosts import normalize_allowed


def _setting(
    default: Any,
    help: str,
    *,
    commands: tuple[str, ...] = ("serve",),
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
    env: str | None = None,
    shown: tuple[str, str] | None = None,
    metavar: str | None = None,
) -> Any:
    """A setting. ``shown`` is its default as a user reads it, (value, a few words on it),
    else derived from ``default``; ``metavar`` names its value in ``--help``."""
    return field(
        default=default,
        metadata={
            "help": help,
            "commands": commands,
            "choices": choices,
            "flag": flag,
            "env": env,
            "shown": shown,
            "metavar": metavar,
        },
    )


ALL_COMMANDS = ("serve", "scan", "db-path")
# Shorter tokens are refused: even at 10 guesses a minute (server/attempts.py), a short or
# guessable one falls to a patient attacker with many addresses.
MIN_TOKEN_LENGTH = 16


TOKEN_ALPHABET = string.ascii_letters + string.digits


def new_token() -> str:
    """A fresh random access token: 32 letters and digits (190 bits).

    Not ``token_urlsafe``: one in 64 of those starts with ``-``, which
    ``--token $(mediasrv token)`` would take for a flag; letters and digits are
    also safe in a URL and a shell and selected whole by a double click.
    """
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(32))


@dataclass(frozen=True)
class Settings:
    """How one mediasrv process runs. ``root`` is the library folder."""

    root: Path = _setting(Path("."), "the library folder to index and serve", commands=ALL_COMMANDS)
    cache_dir: Path | None = _setting(
        None,
        "where generations and thumbnails live",
        commands=ALL_COMMANDS,
        shown=("$XDG_CACHE_HOME/mediasrv/<root-name>-<hash>", "usually under ~/.cache"),
        metavar="DIR",
    )
    host: str = _setting("127.0.0.1", "address to listen on; beyond loopback a --token is required",
                         metavar="ADDRESS")
    port: int = _setting(8080, "port to listen on", metavar="PORT")
    state: str = _setting(
        "sqlite",
        "where the served generation lives: its SQLite file (sqlite) or a copy in RAM (memory)",
        choices=("sqlite", "memory"),
    )
    watch: bool = _setting(
        True, "do not watch the library for changes", flag="no-watch",
        shown=("off", "changes are watched"),
    )
    force_polling: bool = _setting(
        False,
        "watch by polling instead of inotify (network shares); a follower then polls the "
        "cache dir every second",
    )
    rescan_interval: float = _setting(
        3600.0, "seconds between periodic rescans, a backstop for missed events (0: never)",
        shown=("3600", "an hour"), metavar="SECONDS",
    )
    follow: bool = _setting(
        False,
        "serve the generations another mediasrv (the leader: a normal serve, or mediasrv scan "
        "from cron) publishes into --cache-dir; never scan, never watch the library, take no lock",
    )
    workers: int = _setting(
        1,
        "server processes sharing the one port (SO_REUSEPORT): this one and N-1 followers, "
        "restarted if they die, so reads use N cores",
    )
    token: str | None = _setting(
        None,
        "access token required from clients: a browser signs in with it once, scripts send "
        "'Authorization: Bearer TOKEN' or ?token=; required beyond loopback; at least "
        f"{MIN_TOKEN_LENGTH} characters ('mediasrv token' makes one)",
        metavar="TOKEN",
    )
    allowed_hosts: tuple[str, ...] = _setting(
        (),
        "a name clients may reach this server by besides localhost, 127.0.0.1 and [::1] "
        "(e.g. behind a reverse proxy); other Host headers are refused unless a --token is set; "
        "repeatable (the environment variable: a comma- or space-separated list)",
        flag="allowed-host",
        env="MEDIASRV_ALLOWED_HOSTS",
    )
    trusted_proxies: tuple[str, ...] = _setting(
        (),
        "a reverse proxy's address or network (CIDR) whose X-Forwarded-For header names the "
        "client, so that wrong tokens are counted per client, not per proxy; repeatable "
        "(the environment variable: a comma- or space-separated list)",
        flag="trusted-proxy",
        metavar="ADDRESS",
    )
    pool_size: int = _setting(3, "read connections per generation (sqlite state)", metavar="N")
    scan_timeout: float = _setting(
        300.0,
        "seconds a scan may go without reporting progress before its process is killed and "
        "the scan fails (0: never); a scan starved of CPU (it waited a quarter of that time) "
        "is not stuck and gets another period",
        metavar="SECONDS",
    )
    shutdown_grace: float = _setting(
        5.0,
        "seconds that responses in flight (a download, a paused video) get to finish on "
        "SIGTERM or SIGINT before they are cut; then the server exits",
        metavar="SECONDS",
    )
    map_url: str = _setting(
        "",
        "a map service the viewer's details link a photo's GPS position to: an http(s) URL "
        "with {lat} and {lon} in it, e.g. https://www.openstreetmap.org/?mlat={lat}&mlon={lon}"
        "#map=15/{lat}/{lon}",
        shown=("none", "no map link"), metavar="URL",
    )
    full: bool = _setting(
        False,
        "scan only: rebuild the whole index from the files, not as a change to the current one",
        commands=("scan",),
    )
    log_level: str = _setting(
        "info",
        "logging level",
        choices=("debug", "info", "warning", "error"),
        commands=ALL_COMMANDS,
    )

    def __post_init__(self) -> None:
        root = Path(os.path.abspath(os.path.expanduser(self.root)))
        object.__setattr__(self, "root", root)
        if self.cache_dir is not None:
            cache = Path(os.path.abspath(os.path.expanduser(self.cache_dir)))
            object.__setattr__(self, "cache_dir", cache)
        if not 0 <= self.port <= 65535:
            raise UserError(f"port {self.port} is out of range (0-65535)")
        if self.rescan_interval < 0:
            raise UserError("--rescan-interval must be 0 (never) or a number of seconds")
        if self.scan_timeout < 0:
            raise UserError("--scan-timeout must be 0 (never) or a number of seconds")
        if self.shutdown_grace < 0:
            raise UserError("--shutdown-grace must be 0 or a number of seconds")
        if self.pool_size < 1:
            raise UserError("--pool-size must be at least 1")
        if self.workers < 1:
            raise UserError("--workers must be at least 1")
        if self.follow:
            # A follower never looks at the library for changes: the leader does.
            object.__setattr__(self, "watch", False)
            object.__setattr__(self, "rescan_interval", 0.0)
        names = self.allowed_hosts
        names = (names,) if isinstance(names, str) else names
        try:
            allowed = tuple(dict.fromkeys(normalize_allowed(name) for name in names))
        except ValueError as exc:
            raise UserError(f"--allowed-host {exc}") from None
        object.__setattr__(self, "allowed_hosts", allowed)
        self._check_guards()

    def _check_guards(self) -> None:
        """The token's length; ``trusted_proxies`` as normalised networks; ``map_url``."""
        if self.token is not None and len(self.token) < MIN_TOKEN_LENGTH:
            raise UserError(
                f"--token is too short ({len(self.token)} characters, at least "
                f"{MIN_TOKEN_LENGTH} are needed: a short one is guessed); 'mediasrv token' "
                "prints a random one")
        proxies = self.trusted_proxies
        proxies = (proxies,) if isinstance(proxies, str) else proxies
        networks = []
        for text in proxies:
            try:
                networks.append(str(ipaddress.ip_network(text.strip().strip("[]"), strict=False)))
            except ValueError:
                raise UserError(f"--trusted-proxy {text!r} is not an IP address or network "
                                "(such as 10.0.0.2 or 10.0.0.0/8)") from None
        object.__setattr__(self, "trusted_proxies", tuple(dict.fromkeys(networks)))
        if self.map_url and not (re.match(r"https?://[^/\s]", self.map_url)
                                 and "{lat}" in self.map_url and "{lon}" in self.map_url):
            raise UserError(f"--map-url {self.map_url!r} must be an http(s) URL with {{lat}} and "
                            "{lon} in it, such as https://www.openstreetmap.org/?mlat={lat}"
                            "&mlon={lon}")

    @property
    def loopback_only(self) -> bool:
        if self.host in ("localhost", ""):
            return self.host == "localhost"
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def resolved_cache_dir(self) -> Path:
        from .index.cachedir import default_cache_dir

        return self.cache_dir if self.cache_dir is not None else default_cache_dir(self.root)


def default_text(f: dataclasses.Field[Any]) -> tuple[str, str]:
    """The default of setting ``f`` as a user reads it: (``off``, ""), (``3600``, "an hour")."""
    if f.metadata["shown"]:
        value, note = f.metadata["shown"]
        return str(value), str(note)
    if isinstance(f.default, bool):
        return "off", ""  # a flag that turns something on
    if f.default is None or f.default == ():
        return "none", ""
    return (f"{f.default:g}" if isinstance(f.default, float) else str(f.default)), ""


def fields_for(command: str) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if command in f.metadata["commands"]]


def flag_name(f: dataclasses.Field[Any]) -> str:
    return f.metadata["flag"] or f.name.replace("_", "-")


def env_name(f: dataclasses.Field[Any]) -> str:
    """``MEDIASRV_<FLAG>``: ``--cache-dir`` reads MEDIASRV_CACHE_DIR, ``--no-watch``
    MEDIASRV_NO_WATCH; a repeatable flag's variable may be named in the plural
    (``--allowed-host``: MEDIASRV_ALLOWED_HOSTS)."""
    return f.metadata["env"] or "MEDIASRV_" + flag_name(f).upper().replace("-", "_")


def parse_env_value(f: dataclasses.Field[Any], raw: str) -> Any:
    """Turn the text of ``MEDIASRV_<FLAG>`` into the setting's type."""
    kind: type[Any] = type(f.default) if f.default is not None else str
    name = env_name(f)
    if f.name == "cache_dir" or f.name == "root":
        return Path(raw)
    if kind is tuple:  # a repeatable flag: a comma- or space-separated list
        return tuple(item for item in re.split(r"[,\s]+", raw) if item)
    if kind is bool:
        low = raw.strip().lower()
        negated = flag_name(f).startswith("no-")  # MEDIASRV_NO_WATCH=1 means watch=False
        if low in ("1", "true", "yes", "on"):
            return not negated
        if low in ("0", "false", "no", "off"):
            return negated
        raise UserError(f"{name}={raw!r}: expected true or false")
    try:
        value = kind(raw)
    except ValueError:
        expected = {"int": "whole number", "float": "number"}.get(kind.__name__, kind.__name__)
        raise UserError(f"{name}={raw!r}: expected a {expected}") from None
    choices = f.metadata["choices"]
    if choices and value not in choices:
        raise UserError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return value


def from_sources(command: str, given: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
    """Settings for ``command``: flags in ``given`` win over the environment, then defaults."""
    values: dict[str, Any] = {}
    for f in fields_for(command):
        if given.get(f.name) is not None:
            values[f.name] = given[f.name]
        elif env_name(f) in environ and environ[env_name(f)] != "":
            values[f.name] = parse_env_value(f, environ[env_name(f)])
    return Settings(**values)
