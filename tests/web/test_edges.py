"""The edges: which Host names are answered, which origins may act, headers, body caps, bad text."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import socket
import time
from collections.abc import Iterator

import orjson
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.web.edges import body_limit
from app.web.hosts import HostPolicy, hostname
from app.web.main import create_app
from app.web.settings import Settings
from tests.conftest import start_server
from tests.web.rawws import RawClient
from tests.web.wsutil import greet, until_ack

LOOPBACK = Settings(host="127.0.0.1", allowed_hosts="")
LAN = Settings(host="0.0.0.0", allowed_hosts="")


def test_host_names_are_read_without_port_or_brackets() -> None:
    assert hostname("LocalHost:8000") == "localhost"
    assert hostname("[::1]:8000") == "::1"
    assert hostname("10.0.0.5") == "10.0.0.5"
    assert hostname("example.org:x") == ""
    assert hostname("[::1") == ""


def test_a_loopback_server_answers_to_loopback_names_only() -> None:
    hosts = HostPolicy(LOOPBACK)
    for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000"):
        assert hosts.allows(host), host
    for host in ("evil.example", "192.168.1.20:8000", "laptop", "laptop.local", "", "127.0.0.2"):
        assert not hosts.allows(host), host


def test_a_lan_server_also_answers_to_addresses_and_local_names() -> None:
    hosts = HostPolicy(LAN)
    allowed = ["192.168.1.20:8000", "[fe80::1]:8000", "laptop", "laptop.local:8000", "pc.home.arpa"]
    for host in [*allowed, socket.gethostname(), "localhost"]:
        assert hosts.allows(host), host
    for host in ("evil.example", "lab.school.edu", "evil.example:8000", "x.local.evil.example"):
        assert not hosts.allows(host), host


def test_configured_names_and_the_public_url_are_answered() -> None:
    settings = Settings(host="0.0.0.0", allowed_hosts="lab.school.edu", public_url="http://u.edu")
    hosts = HostPolicy(settings)
    assert hosts.allows("lab.school.edu") and hosts.allows("u.edu:80")
    assert not hosts.allows("evil.example")
    assert HostPolicy(Settings(allowed_hosts="*")).allows("anything.example")


def test_a_foreign_host_is_refused_over_http_and_at_the_websocket_handshake() -> None:
    with TestClient(create_app(LOOPBACK), base_url="http://evil.example") as client:
        response = client.get("/")
        assert response.status_code == 400
        assert response.json()["detail"]["field"] == "host"
        assert response.headers["x-content-type-options"] == "nosniff"
        with pytest.raises(WebSocketDisconnect) as refused:  # noqa: SIM117
            with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
                pass
        assert refused.value.code == 1008
    with TestClient(create_app(LOOPBACK), base_url="http://localhost:8000") as client:
        assert client.get("/").status_code == 200


def test_dns_rebinding_host_and_origin_both_evil_is_refused_on_a_real_socket() -> None:
    app = create_app(LOOPBACK)
    server, thread, port = start_server(app, LOOPBACK)
    try:
        for host, origin in [("evil.example", "http://evil.example"), (f"127.0.0.1:{port}", None)]:
            status = _handshake(port, host, origin)
            assert status == (b"403" if host == "evil.example" else b"101"), host
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _handshake(port: int, host: str, origin: str | None) -> bytes:
    """The status code of a websocket handshake with these Host and Origin headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        lines = [
            "GET /ws HTTP/1.1",
            f"Host: {host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ]
        lines += [f"Origin: {origin}"] if origin else []
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock.recv(64).split(b" ")[1]


def test_origins_are_checked_against_allowed_names_not_just_the_host() -> None:
    hosts = HostPolicy(Settings(allowed_hosts="", allowed_origins="https://course.example.org"))
    assert hosts.origin_allowed("http://localhost:8000", "localhost:8000")
    assert hosts.origin_allowed("https://course.example.org/", "localhost:8000")
    assert not hosts.origin_allowed("http://evil.example", "evil.example")  # rebinding
    assert not hosts.origin_allowed("http://localhost:3000", "localhost:8000")  # another port
    assert not hosts.origin_allowed("null", "localhost:8000")
    assert not hosts.origin_allowed("http://localhost:8000/x", "localhost:8000")


# ---------------------------------------------------------------- headers on every response


@pytest.fixture
def loopback() -> Iterator[TestClient]:
    settings = Settings(allowed_hosts="", embed_origins="https://course.example.org")
    with TestClient(create_app(settings), base_url="http://localhost:8000") as client:
        yield client


def test_every_response_carries_the_security_headers(loopback: TestClient) -> None:
    paths = ["/", "/lab", "/room", "/static/js/main.js", "/api/presets", "/healthz", "/nope"]
    for path in paths:
        headers = loopback.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy, path
        assert "connect-src 'self' ws://localhost:8000 wss://localhost:8000;" in policy, path
        assert policy.endswith("frame-ancestors 'self'"), path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "same-origin", path
    assert loopback.post("/api/rooms").headers["content-security-policy"] == policy


def test_embedded_pages_may_be_framed_by_the_configured_origins(loopback: TestClient) -> None:
    policy = loopback.get("/?embed=1").headers["content-security-policy"]
    assert policy.endswith("frame-ancestors 'self' https://course.example.org")
    anyone = Settings(embed_origins="*")
    with TestClient(create_app(anyone)) as client:
        assert (
            client.get("/?embed=1").headers["content-security-policy"].endswith("frame-ancestors *")
        )


def test_the_api_docs_page_allows_its_one_inline_script_by_hash(loopback: TestClient) -> None:
    response = loopback.get("/api/docs")
    assert response.status_code == 200
    (inline,) = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    policy = response.headers["content-security-policy"]
    assert f"script-src 'self' https://cdn.jsdelivr.net 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_no_page_has_an_inline_script_or_handler(loopback: TestClient) -> None:
    for path in ["/", "/lab", "/gallery", "/lessons", "/room"]:
        html = loopback.get(path).text
        for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S):
            assert "src=" in attributes or 'type="application/json"' in attributes, path
            assert "src=" not in attributes or not body.strip(), path
        assert not re.search(r"\son[a-z]+=", html), path


# ---------------------------------------------------------------- request bodies


def _app_with_uploads(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/upload")
    @body_limit(lambda s: 4 * s.max_body_bytes)
    async def upload(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return app


def test_bodies_over_the_cap_are_refused_and_a_route_may_declare_more() -> None:
    with TestClient(_app_with_uploads(Settings(max_body_bytes=1000))) as client:
        assert client.post("/echo", content=b"x" * 1000).json() == {"bytes": 1000}
        refused = client.post("/echo", content=b"x" * 1001)
        assert refused.status_code == 413
        assert refused.json()["detail"] == {
            "code": "too_large",
            "message": "the request body is over 1000 bytes",
        }
        assert client.post("/upload", content=b"x" * 4000).json() == {"bytes": 4000}
        assert client.post("/upload", content=b"x" * 4001).status_code == 413

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it is read
            yield from [b"x" * 600, b"x" * 600]

        assert client.post("/echo", content=chunks()).status_code == 413


def test_a_50_mb_body_is_refused_before_it_is_sent() -> None:
    settings = Settings(allowed_hosts="")
    server, thread, port = start_server(create_app(settings), settings)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            head = (
                f"POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: http://127.0.0.1:{port}\r\nContent-Length: {50 * 2**20}\r\n\r\n"
            )
            sock.sendall(head.encode())  # and not one byte of the body
            answer = sock.recv(4096)
            while b"\r\n\r\n" not in answer or answer.endswith(b"\r\n\r\n"):
                answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["detail"]["code"] == "too_large"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ---------------------------------------------------------------- websocket messages


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_text_frame_that_is_not_utf8_gets_a_close_and_one_log_line() -> None:
    settings = Settings()
    app = create_app(settings)
    server, thread, port = start_server(app, settings)
    records = Records()
    logging.getLogger("uvicorn.error").addHandler(records)
    try:
        client = RawClient("127.0.0.1", port)
        client.send_raw_text(b'{"type": "\xff"}')
        assert client.read_close_code() == 1007
        deadline = time.monotonic() + 10
        while app.state.sessions.live and time.monotonic() < deadline:
            time.sleep(0.01)  # the session is freed once the app sees the disconnect
        assert not app.state.sessions.live
        (record,) = [r for r in records.records if "UTF-8" in r.getMessage()]
        assert record.getMessage() == "closed a websocket (1007): a text frame was not UTF-8"
        assert record.exc_info is None and record.levelname == "WARNING"
        client.close()
    finally:
        logging.getLogger("uvicorn.error").removeHandler(records)
        server.should_exit = True
        thread.join(timeout=10)


def test_integers_sent_as_strings_are_refused_naming_the_field(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        cases = {
            "iterations": {"type": "train", "iterations": "5", "id": 1},
            "config.hidden_size": {"type": "configure", "config": {"hidden_size": "5"}, "id": 2},
            "length": {"type": "sample", "length": 5.0, "id": 3},
            "steps_per_second": {"type": "play", "steps_per_second": True, "id": 4},
        }
        for field, command in cases.items():
            error = until_ack(ws, command)[-1]
            assert (error["code"], error["field"]) == ("invalid_message", field)
            assert error["command_id"] == command["id"]
        ws.send_text(orjson.dumps({"type": "advance", "id": "6"}).decode())
        error = until_ack(ws, {"type": "advance", "id": 7})[0]
        assert (error["code"], error["field"], error["command_id"]) == (
            "invalid_message",
            "id",
            None,
        )
