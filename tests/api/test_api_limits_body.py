"""Body limits through a real uvicorn process: a 100 MB body, declared or chunked, with or without a key,
is answered 401/413 and never held in the server's memory (peak RSS read from /proc/<pid>/status)."""

from __future__ import annotations

import select
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from gatewatch.api.limits import SMALL_BODY_BYTES, ingest_body_limit
from tests.api.helpers import Env, UvicornApi, crossing

BODY_BYTES = 100 * 1024 * 1024
CHUNK = 1024 * 1024
MIB = 1024


@pytest.fixture(scope="module")
def server(env: Env) -> Any:
    """The env's database behind its own uvicorn process (default body limits)."""
    with UvicornApi(env.settings) as api:
        yield api


def _huge_lane_body(total: int) -> Any:
    """``{"events": [{... "lane": "lll...`` growing to ``total`` bytes, in 1 MiB pieces (never closed)."""
    yield b'{"events": [{"kind": "crossing", "gate": "g1", "camera": "cam-1", "lane": "'
    sent = 0
    while sent < total:
        yield b"l" * CHUNK
        sent += CHUNK


def _send(port: int, method: str, path: str, headers: dict[str, str], total: int,
          chunked: bool = True) -> tuple[int, int]:
    """Send a request whose body grows to ``total`` bytes, stopping when the server answers or stops reading.

    Returns (status code, body bytes the socket accepted).
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    headers = {"Content-Type": "application/json", **headers}
    head += [f"{k}: {v}" for k, v in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    try:
        for piece in _huge_lane_body(total):
            if select.select([sock], [], [], 0)[0]:
                break  # the server answered
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass  # the server closed the connection or stopped reading
    reply = b""
    try:
        while b"\r\n" not in reply:
            data = sock.recv(4096)
            if not data:
                break
            reply += data
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split()[1]), sent


@pytest.mark.parametrize(("headers", "chunked", "status"), [
    pytest.param({}, True, 401, id="chunked-no-key"),
    pytest.param({"X-API-Key": "gwk_wrong"}, True, 401, id="chunked-unknown-key"),
    pytest.param({}, False, 413, id="declared-no-key"),
    pytest.param({"X-API-Key": "KEY"}, True, 413, id="chunked-with-key"),
    pytest.param({"X-API-Key": "KEY"}, False, 413, id="declared-with-key"),
])
def test_huge_ingest_body_is_refused_unread(env: Env, server: UvicornApi, headers: dict[str, str], chunked: bool,
                                            status: int) -> None:
    headers = {k: env.key if v == "KEY" else v for k, v in headers.items()}
    server.reset_peak_rss()
    before = server.rss_kib()
    code, sent = _send(server.port, "POST", "/api/v1/events", headers, BODY_BYTES, chunked)
    assert code == status
    assert sent < BODY_BYTES
    assert server.peak_rss_kib() - before < 3 * ingest_body_limit(env.settings) // 1024 + 16 * MIB


def test_three_parallel_unauthenticated_bodies_stay_out_of_memory(env: Env, server: UvicornApi) -> None:
    server.reset_peak_rss()
    before = server.rss_kib()
    with ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(lambda _: _send(server.port, "POST", "/api/v1/events", {}, BODY_BYTES)[0], range(3)))
    assert codes == [401, 401, 401]
    assert server.peak_rss_kib() - before < 16 * MIB


@pytest.mark.parametrize(("method", "path", "auth"), [
    pytest.param("POST", "/api/v1/holds/entries", "operator", id="hold-entry"),
    pytest.param("POST", "/api/v1/auth/token", "form", id="sign-in"),
])
def test_other_routes_take_small_bodies_only(env: Env, server: UvicornApi, method: str, path: str,
                                             auth: str | None) -> None:
    headers = env.bearer() if auth == "operator" else {"Content-Type": "application/x-www-form-urlencoded"}
    code, _ = _send(server.port, method, path, headers, 4 * SMALL_BODY_BYTES)
    assert code == 413


def test_batch_just_under_the_limit_is_stored_and_over_is_413(env: Env, server: UvicornApi) -> None:
    limit = ingest_body_limit(env.settings)
    event = crossing()
    body = ('{"events": [' + __import__("json").dumps(event) + "]}").encode()
    padded = body[:-1] + b" " * (limit - len(body)) + b"}"
    assert len(padded) == limit
    with httpx.Client(base_url=server.url, headers={"X-API-Key": env.key, "Content-Type": "application/json"}) as c:
        ok = c.post("/api/v1/events", content=padded)
        assert ok.status_code == 200, ok.text
        assert ok.json()["accepted"] + ok.json()["duplicates"] == 1
        over = c.post("/api/v1/events", content=padded + b" ")
        assert over.status_code == 413
        assert over.json() == {"detail": f"request body exceeds the limit of {limit} bytes"}
