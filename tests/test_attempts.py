"""Guessing is slow: failed attempts per client address, and who the client is behind a proxy."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from aiohttp.test_utils import make_mocked_request

from mediasrv.server.attempts import Attempts
from mediasrv.server.forwarded import TrustedProxies

from .support.clock import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_tenth_failure_within_a_minute_makes_the_address_wait_a_minute(clock: Clock) -> None:
    attempts = Attempts(clock=clock)
    assert [attempts.fail("203.0.113.7") for _ in range(10)] == [False] * 9 + [True]
    assert attempts.wait("203.0.113.7") == 60.0
    assert attempts.wait("203.0.113.8") == 0.0
    clock.now += 59.5
    assert attempts.wait("203.0.113.7") == 0.5
    clock.now += 0.5
    assert attempts.wait("203.0.113.7") == 0.0
    assert attempts.fail("203.0.113.7") is False  # counting starts again from nothing


def test_failures_older_than_a_minute_do_not_count(clock: Clock) -> None:
    attempts = Attempts(clock=clock)
    for _ in range(9):
        attempts.fail("203.0.113.7")
    clock.now += 30
    assert attempts.fail("203.0.113.7") is True  # 10 within 30 s
    clock.now += 60
    for _ in range(5):
        attempts.fail("203.0.113.7")
    clock.now += 61
    assert [attempts.fail("203.0.113.7") for _ in range(9)] == [False] * 9  # the 5 expired
    assert attempts.wait("203.0.113.7") == 0.0


def test_a_failure_while_waiting_does_not_make_the_wait_longer(clock: Clock) -> None:
    attempts = Attempts(clock=clock)
    for _ in range(10):
        attempts.fail("203.0.113.7")
    clock.now += 50
    assert attempts.fail("203.0.113.7") is True
    assert attempts.wait("203.0.113.7") == 10.0


def test_logged_once_per_address_per_wait(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    attempts = Attempts(clock=clock)
    with caplog.at_level(logging.WARNING, logger="mediasrv.server.attempts"):
        for _ in range(200):
            attempts.fail("203.0.113.7")
        for _ in range(10):
            attempts.fail("198.51.100.1")
    assert [r.getMessage() for r in caplog.records] == [
        "10 wrong access tokens or links from 203.0.113.7 within 60s: refusing it for 60s",
        "10 wrong access tokens or links from 198.51.100.1 within 60s: refusing it for 60s",
    ]


def test_quiet_addresses_are_forgotten(clock: Clock) -> None:
    attempts = Attempts(clock=clock)
    for n in range(50):
        attempts.fail(f"10.0.0.{n}")
    assert len(attempts) == 50
    clock.now += 60
    attempts.fail("10.0.1.1")
    assert len(attempts) == 1


def test_a_flood_of_addresses_stays_within_the_capacity(clock: Clock) -> None:
    attempts = Attempts(capacity=100, clock=clock)
    for _ in range(10):
        attempts.fail("203.0.113.7")
    for n in range(100_000):
        attempts.fail(str(ipaddress.IPv4Address(0x0A000000 + n)))
    assert len(attempts) == 100
    # the longest quiet went first; the newest are still counted
    assert attempts.wait("203.0.113.7") == 0.0
    assert attempts.fail("10.1.134.159") is False  # the last address of the flood: 2 failures
    for _ in range(8):
        attempts.fail("10.1.134.159")
    assert attempts.wait("10.1.134.159") == 60.0


@pytest.mark.parametrize(
    ("peer", "client"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::ffff:192.0.2.5", "192.0.2.5"),  # IPv4 through a dual-stack socket
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # a /64 is one household
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("", ""),  # a Unix socket: all one client
    ],
)
def test_the_client_is_the_peer_or_its_ipv6_network(peer: str, client: str) -> None:
    request = make_mocked_request("GET", "/", headers={"X-Forwarded-For": "198.51.100.1"})
    assert Attempts().client(request.clone(remote=peer)) == client


PROXIES = TrustedProxies(["10.0.0.0/8", "192.0.2.1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # an untrusted peer: whatever it writes is ignored
        ("203.0.113.7", ["198.51.100.1"], "203.0.113.7"),
        # through one trusted proxy
        ("192.0.2.1", ["198.51.100.1"], "198.51.100.1"),
        # the client's own guesses at the left prove nothing
        ("192.0.2.1", ["1.1.1.1, 2.2.2.2, 198.51.100.1"], "198.51.100.1"),
        # through two trusted proxies, one header or two
        ("10.0.0.2", ["198.51.100.1, 192.0.2.1"], "198.51.100.1"),
        ("10.0.0.2", ["198.51.100.1", "192.0.2.1"], "198.51.100.1"),
        # every hop trusted: the left-most of them
        ("10.0.0.2", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        # no header: the proxy itself
        ("192.0.2.1", [], "192.0.2.1"),
        # an entry that is no address: the trusted hop that wrote it is all we know
        ("10.0.0.2", ["198.51.100.1, unknown, 10.3.3.3"], "10.3.3.3"),
        # addresses with ports, in brackets, IPv4-mapped
        ("192.0.2.1", ["198.51.100.1:5678"], "198.51.100.1"),
        ("192.0.2.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("::ffff:192.0.2.1", ["2001:db8::1"], "2001:db8::1"),
        ("192.0.2.1", [" 198.51.100.1 , "], "198.51.100.1"),
    ],
)
def test_x_forwarded_for_is_read_from_the_right_and_only_from_a_trusted_proxy(
    peer: str, forwarded: list[str], client: str
) -> None:
    assert str(PROXIES.client(peer, forwarded)) == client


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert str(TrustedProxies().client("127.0.0.1", ["198.51.100.1"])) == "127.0.0.1"
