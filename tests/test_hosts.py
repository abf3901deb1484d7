"""Which names the server answers to (mediasrv.hosts): parsing, loopback, allowed names, the log."""

from __future__ import annotations

import logging

import pytest

from mediasrv.hosts import HostPolicy, RefusalLog, host_name, normalize_allowed


@pytest.mark.parametrize(
    ("authority", "name"),
    [
        ("localhost", "localhost"),
        ("LocalHost:8080", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8080", "[::1]"),
        ("[0:0:0:0:0:0:0:1]", "[::1]"),
        ("localhost.", "localhost."),
        ("::1", None),  # an IPv6 literal must be bracketed
        ("[::1", None),
        ("[::1]x", None),
        ("[nope]", None),
        ("localhost:", None),
        ("localhost:http", None),
        ("localhost:80:80", None),
        ("localhost:٨٠", None),  # Arabic-Indic digits are not a port
        ("", None),
        (":8080", None),
    ],
)
def test_host_name(authority: str, name: str | None) -> None:
    assert host_name(authority) == name


LOOPBACK = ["localhost", "LOCALHOST", "localhost:1", "127.0.0.1", "127.0.0.1:8080",
            "127.255.0.9:8080", "[::1]", "[::1]:8080", "[0:0::1]:8080"]
NOT_LOOPBACK = [
    "evil.example", "evil.example:8080", "localhost.", "localhost.:8080", "127.0.0.1.",
    "a.localhost", "localhost.evil.example", "127.0.0.1.evil.example", "0.0.0.0:8080",
    "0", "127.1", "2130706433", "0x7f.0.0.1", "127.000.000.001", "192.168.1.5:8080",
    "[2001:db8::1]:8080", "[::ffff:127.0.0.1]:8080", "[::]:8080", "[::1%25lo]", "",
]


@pytest.mark.parametrize("authority", LOOPBACK)
def test_loopback_names_are_allowed(authority: str) -> None:
    assert HostPolicy().allows(authority)


@pytest.mark.parametrize("authority", NOT_LOOPBACK)
def test_other_names_are_refused(authority: str) -> None:
    assert not HostPolicy().allows(authority)


def test_allowed_names_match_exactly_with_any_port() -> None:
    policy = HostPolicy(["Media.Example.org", "192.168.1.5", "fd00::5"])
    for authority in ("media.example.org", "MEDIA.example.org:443", "192.168.1.5:8080",
                      "[fd00:0::5]:8080", "localhost"):
        assert policy.allows(authority), authority
    for authority in ("example.org", "evil.media.example.org", "media.example.org.",
                      "media.example.org.evil.example", "192.168.1.50"):
        assert not policy.allows(authority), authority


@pytest.mark.parametrize(
    ("given", "normal"),
    [("Media.Example.org", "media.example.org"), (" nas ", "nas"), ("my_box", "my_box"),
     ("example.org.", "example.org."), ("10.0.0.2", "10.0.0.2"), ("fd00::5", "[fd00::5]"),
     ("[FD00:0::5]", "[fd00::5]")],
)
def test_normalize_allowed(given: str, normal: str) -> None:
    assert normalize_allowed(given) == normal


@pytest.mark.parametrize(
    ("given", "why"),
    [("media.example.org:8443", "has a port"), ("[fd00::5]:80", "has a port"),
     ("*.example.org", "not a host name"), ("http://example.org", "not a host name"),
     ("example.org/x", "not a host name"), ("a b", "not a host name"),
     ("", "not a host name"), ("-x", "not a host name")],
)
def test_normalize_allowed_refuses(given: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        normalize_allowed(given)


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:3000", "https://localhost", "http://127.0.0.1:8080", "http://[::1]:9",
     "https://media.example.org", "http://media.example.org:8080"],
)
def test_allowed_origins(origin: str) -> None:
    assert HostPolicy(["media.example.org"]).allows_origin(origin)


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example:8080", "http://localhost.evil.example", "http://localhost:8080/",
     "ftp://localhost", "http://user@localhost", "localhost", "null", "http://",
     "http://0.0.0.0:8080", "https://media.example.org.evil.example", "http://localhost."],
)
def test_refused_origins(origin: str) -> None:
    assert not HostPolicy(["media.example.org"]).allows_origin(origin)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mediasrv.hosts"]


def test_refusal_log_writes_each_host_once_per_window(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mediasrv.hosts")
    clock = FakeClock()
    refusals = RefusalLog(window=60, max_lines=10, clock=clock)
    for _ in range(1000):
        refusals.refused("evil.example:8080", "GET", "/api/files")
    refusals.refused(None, "GET", "/")
    assert refusal_lines(caplog) == [
        "refused GET '/api/files': Host 'evil.example:8080' is neither loopback "
        "nor an --allowed-host",
        "refused GET '/': no Host header",
    ]
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in caplog.records)
    caplog.clear()
    clock.now += 60
    refusals.refused("evil.example:8080", "POST", "/api/rescan")
    assert refusal_lines(caplog) == [
        "999 more requests with a refused Host were not logged in the last 60 s",
        "refused POST '/api/rescan': Host 'evil.example:8080' is neither loopback "
        "nor an --allowed-host",
    ]


def test_refusal_log_bounds_distinct_hosts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mediasrv.hosts")
    refusals = RefusalLog(window=60, max_lines=3, clock=FakeClock())
    for i in range(500):
        refusals.refused(f"a{i}.evil.example", "GET", "/")
    assert len(refusal_lines(caplog)) == 3
    assert len(refusals.logged) == 3 and refusals.suppressed == 497


def test_refusal_log_shows_control_characters_escaped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="mediasrv.hosts")
    RefusalLog(clock=FakeClock()).refused("e\x1b[2Jvil\u202e", "GET", "/x\ty")
    assert refusal_lines(caplog) == [
        "refused GET '/x\\ty': Host 'e\\x1b[2Jvil\\u202e' is neither loopback nor an --allowed-host"
    ]
