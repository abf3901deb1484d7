"""Fuzzing the live server against its own description (schemathesis).

A real ``mediasrv serve`` on a small library of hostile names gets every
endpoint and parameter of ``/api/openapi.json`` with generated values,
boundary and schema-breaking ones included, plus a fixed list of probes that
a fuzzer's HTTP client cannot send (a NUL in a header, a bad method, a TLS hello).
Every answer must: not be a 5xx, conform to the description (status, content
type, headers, body), and never show anything outside the library root. The
server's log must hold no traceback. The budget is fixed (examples per
operation, derandomized) so the run stays well under a minute; a longer run
is ``schemathesis run --max-examples 2000 http://127.0.0.1:8080/api/openapi.json``
against a running server.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import hypothesis
import pytest
import requests
import schemathesis
from schemathesis import checks

from mediasrv.server.openapi import SPEC_FILE

from .support import TRACEBACK, LiveServer, jpeg_bytes, make_tree

pytestmark = [pytest.mark.fuzz, pytest.mark.process]

EXAMPLES = 50  # per operation and phase; derandomized, so every run sends the same requests
SECRET = "TOPSECRET-7f3a9c"  # the content of a file outside the root: must never be sent

HOSTILE: dict[str | bytes, bytes | str] = {
    b"caf\xe9/\xff\xfe.jpg": b"not utf-8",
    "<script>alert(1)</script>/<img src=x onerror=alert(2)>.jpg": "xss",
    "with space/a b  c.jpg": "spaces",
    "100%/50% off %41.jpg": "percent",
    "hash#tag/#1.jpg": "hash",
    "what?/really?&x=1.jpg": "question",
    "brackets/sunset[beach family] [x].jpg": "brackets",
    "quotes/\"double\" 'single' `back`.jpg": "quotes",
    "back\\slash/a\\b.jpg": "backslash",
    "new\nline/a\rb.jpg": "control characters",
    "Ünïcødé/日本語 🎞.jpg": "unicode",
    "L" * 200 + "/" + "n" * 240 + ".jpg": "long names",
    "/".join(f"d{i}" for i in range(30)) + "/deep.jpg": "deep",
    "real/photo.jpg": jpeg_bytes((64, 48)),
    "..dots/..x...jpg": "dots",
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("fuzz")
    root = make_tree(base / "lib", HOSTILE)
    outside = make_tree(base / "outside", {"secret.jpg": SECRET, "dir/secret2.jpg": SECRET})
    os.symlink(outside / "secret.jpg", root / "link-out.jpg")
    os.symlink(outside / "dir", root / "link-out-dir")
    server = LiveServer(root, "--cache-dir", base / "cache", "--port", "0", "--log-level", "info")
    try:
        server.wait_idle()
        yield server
    finally:
        server.stop()


schema = schemathesis.openapi.from_path(SPEC_FILE)
# The event stream never ends by itself: its events are checked in test_openapi.
schema = schema.exclude(path="/api/events")

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.unsupported_method,
]


def assert_nothing_outside(live: LiveServer, body: bytes, path: str) -> None:
    """No byte of a file outside the root, and no path outside it but the documented ones."""
    assert SECRET.encode() not in body, f"{path} sent a file from outside the root"
    outside = os.fsencode(live.root.parent / "outside")
    assert outside not in body, f"{path} named a path outside the root"
    if not path.startswith("/api/status"):  # status names the cache dir on purpose (db_path)
        assert os.fsencode(live.cache) not in body, f"{path} named the cache dir"


@schema.parametrize()
@hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck),
                     database=None, print_blob=True)
def test_every_answer_conforms_and_stays_inside_the_root(case, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
    response = case.call(base_url=live.url, timeout=30)
    case.validate_response(response, checks=CHECKS)
    assert_nothing_outside(live, response.content, case.formatted_path)


CRAWL_CHECKS = [c for c in CHECKS if c is not checks.negative_data_rejection]
RANGES = ["bytes=0-0", "bytes=2-", "bytes=-3", "bytes=999999-", "bytes=5-1", "bytes=0-1,3-4",
          "chars=0-1"]


def test_every_file_of_the_hostile_library_round_trips(live: LiveServer) -> None:
    """Every tag, every file, by its own URLs: each answer as described, each file's own bytes.

    Generated values rarely name a real file; this walks the library the way a
    script would, with every odd name, and with Range headers good and bad.
    """
    http = requests.Session()

    def get(template: str, url: str, **kwargs: object) -> requests.Response:
        response = http.get(live.url + url, timeout=30, **kwargs)  # type: ignore[arg-type]
        # The path parameter as sent: already percent-encoded, slashes kept.
        tail = {"path": url.split("/", 2)[2]} if "{path}" in template else None
        case = schema[template]["GET"].Case(path_parameters=tail)
        case.validate_response(response, checks=CRAWL_CHECKS)
        assert_nothing_outside(live, response.content, url)
        return response

    tags = get("/api/tags", "/api/tags").json()["tags"]
    names = {tag["name"] for tag in tags}
    assert {"<script>alert(1)<", "script>", "caf\udce9", "100%", "hash#tag", "what?"} <= names
    seen = set()
    for tag in tags:
        quoted = requests.utils.quote(tag["name"].encode("utf-8", "surrogateescape"), safe="")
        page = get("/api/files", f"/api/files?tag={quoted}&limit=1000").json()
        assert page["total"] == tag["count"] == len(page["files"])
        for file in page["files"]:
            path = requests.utils.quote(file["path"].encode("utf-8", "surrogateescape"), safe="")
            found = get("/api/file", f"/api/file?path={path}&tag={quoted}").json()
            one = dict(found["file"])
            details = one.pop("details")  # only single-file answers carry it
            if file["kind"] in ("image", "video"):  # no camera wrote the hostile library
                assert details is not None and set(details.values()) == {None}
            else:
                assert details is None
            assert one == file
            if file["path"] in seen:
                continue
            seen.add(file["path"])
            try:  # a name that is not UTF-8 is shown as a guess, and says so
                file["path"].encode()
                assert (file["display_path"], file["name_guessed"]) == (file["path"], False)
            except UnicodeEncodeError:
                assert file["name_guessed"] and file["display_path"].encode()
            body = get("/media/{path}", file["url"])
            assert len(body.content) == file["size"], (file["url"], body.status_code, body.content)
            for value in RANGES:
                assert get("/media/{path}", file["url"], headers={"Range": value}).status_code \
                    in (200, 206, 416)
            assert get("/thumb/{path}", file["thumb_url"]).status_code == 200
    # Not indexed: the two links out of the root, and "..dots" (hidden: it starts with a dot).
    assert len(seen) == len(HOSTILE) - 1
    guessed = get("/api/search", "/api/search?q=caf").json()["files"]
    assert [(f["display_path"], f["name_guessed"]) for f in guessed] == [("café/ÿþ.jpg", True)]
    for word in ("script", "caf", "100", "hash", "really", "beach", "double", "日本語", "deep"):
        assert get("/api/search", f"/api/search?q={requests.utils.quote(word)}").json()["files"]


def raw_request(live: LiveServer, data: bytes) -> bytes:
    """Send ``data`` as it is and return the whole answer."""
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


PROBES = {
    "nul in a header": b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Probe: a\x00b\r\n\r\n",
    "nul in the path": b"GET /media/a\x00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "100 KB header": b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 100_000
                     + b"\r\n\r\n",
    "bad method": b"G\x01T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "not http": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
    "bad chunked body": b"POST /api/rescan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    "two content lengths": b"POST /api/rescan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
}


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_a_malformed_request_is_a_clear_400(live: LiveServer, probe: str) -> None:
    answer = raw_request(live, PROBES[probe])
    status_line = answer.split(b"\r\n", 1)[0]
    if probe == "not http":  # a TLS hello: nothing to answer but a 400, or a closed socket
        assert answer == b"" or status_line.endswith(b"400 Bad Request")
        return
    assert status_line.endswith(b"400 Bad Request"), answer[:300]
    assert len(answer) < 2000  # the complaint is short, not an echo of the request
    assert_nothing_outside(live, answer, probe)
    logged = [line for line in live.log_text().splitlines() if "malformed request" in line]
    assert logged and len(logged[-1]) < 400


TRAVERSALS = [
    "/media/..%2f..%2foutside%2fsecret.jpg",
    "/media/%2e%2e/%2e%2e/outside/secret.jpg",
    "/media/link-out.jpg",
    "/media/link-out-dir/secret2.jpg",
    "/media//etc/passwd",
    "/media/%2Fetc%2Fpasswd",
    "/thumb/link-out.jpg",
    "/thumb/..%2F..%2Foutside%2Fsecret.jpg",
    "/api/file?path=../outside/secret.jpg",
    "/api/file?path=/etc/passwd",
    "/api/file?path=link-out.jpg",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_paths_that_lead_out_of_the_root_are_404(live: LiveServer, url: str) -> None:
    answer = raw_request(live, f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Connection: close\r\n\r\n".encode())
    assert answer.split(b"\r\n", 1)[0].endswith(b"404 Not Found"), answer[:300]
    assert_nothing_outside(live, answer, url)


def test_rescan_of_a_path_that_leads_out_is_refused(live: LiveServer) -> None:
    for path in ("link-out-dir", "../outside", "/etc", "a%00b"):
        answer = raw_request(live, f"POST /api/rescan?path={path} HTTP/1.1\r\n"
                                   "Host: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        assert answer.split(b"\r\n", 1)[0].endswith(b"400 Bad Request"), answer[:300]


def test_the_log_holds_no_traceback_and_one_line_per_malformed_request(
    live: LiveServer,
) -> None:
    """Runs after the tests above (same module): everything they sent is in the log."""
    status = live.wait_idle()
    text = live.log_text()
    print(status.get("watcher"))
    assert TRACEBACK not in text, text[text.find(TRACEBACK) - 300:][:3000]
    assert " ERROR " not in text, [line for line in text.splitlines() if " ERROR " in line]
    malformed = [line for line in text.splitlines() if "malformed request" in line]
    assert all(len(line) < 400 for line in malformed)
