"""/api/events: a client that goes away is the normal end of a stream, never an error.

The server runs as ``mediasrv serve`` runs it (an AppRunner that does not
cancel handlers when a client leaves; aiohttp's test server would).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from mediasrv.server import api
from mediasrv.server.keys import COORDINATOR
from mediasrv.settings import Settings

from .conftest import make_app


class Live:
    def __init__(self, app: web.Application, port: int) -> None:
        self.app, self.port = app, port


@pytest.fixture
async def live(library: Path, settings_for: Callable[..., Settings]) -> AsyncIterator[Live]:
    app = make_app(settings_for(library))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)  # as cli/serving.py does
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    await app[COORDINATOR].wait_idle()
    try:
        yield Live(app, sock.getsockname()[1])
    finally:
        await runner.cleanup()


async def rescan(client: Live) -> None:
    """POST /api/rescan?wait=1 (raw HTTP: no client library in the way)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b"POST /api/rescan?wait=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer


async def open_stream(client: Live) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection reading /api/events, as ``curl -sN`` does, past the first event."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await writer.drain()
    while (await reader.readline()).strip() != b"event: status":
        pass
    return reader, writer


async def subscribers_gone(client: Live, deadline_s: float = 10) -> None:
    coordinator = client.app[COORDINATOR]
    deadline = time.monotonic() + deadline_s
    while coordinator._subscribers:
        assert time.monotonic() < deadline, "the stream was never released"
        await asyncio.sleep(0.02)


async def test_a_client_that_goes_away_is_released_without_a_traceback(
    live: Live, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _, writer = await open_stream(live)
    assert len(live.app[COORDINATOR]._subscribers) == 1
    writer.close()  # like killing curl
    await writer.wait_closed()
    await subscribers_gone(live)  # noticed while nothing was being sent
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("event stream" in r.getMessage() and r.levelno == logging.DEBUG
               for r in caplog.records)


async def test_a_write_to_a_client_that_went_away_ends_the_stream_quietly(
    live: Live, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The event or heartbeat written after the client left: no 'Error handling request'."""
    monkeypatch.setattr(api, "GONE_CHECK_S", 60.0)  # only the write can notice
    caplog.set_level(logging.DEBUG)
    _, writer = await open_stream(live)
    writer.transport.abort()  # a reset, not a polite close
    await asyncio.sleep(0.1)
    await rescan(live)  # its events are written to the closed connection
    await subscribers_gone(live)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_many_tabs_coming_and_going_leave_no_stream_behind(live: Live) -> None:
    for _ in range(20):
        _, writer = await open_stream(live)
        writer.close()
    await subscribers_gone(live)


async def test_a_stream_still_gets_every_scan_event(live: Live) -> None:
    reader, writer = await open_stream(live)
    await rescan(live)
    seen = []
    while "finished" not in seen:
        line = (await asyncio.wait_for(reader.readline(), 30)).decode().strip()
        if line.startswith("event: "):
            seen.append(line.removeprefix("event: "))
    writer.close()
    assert seen[0] == "started" and seen[-1] == "finished"
