"""Rooms are started from the server's own pages only, and per-address limits slow down abuse."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.web.main import create_app
from app.web.settings import Settings
from app.web.throttle import MAX_ADDRESSES, AddressLimiter, address_key
from tests.web.roomutil import create_room
from tests.web.wsutil import receive

OWN = {"origin": "http://testserver"}


def test_only_the_servers_own_pages_start_rooms(client: TestClient) -> None:
    refused = [
        {},  # curl
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": "http://testserver:8080"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ]
    for headers in refused:
        response = client.post("/api/rooms", headers=headers)
        assert response.status_code == 403, headers
        assert response.json()["detail"]["code"] == "forbidden", headers
    assert client.get("/healthz").json()["rooms"] == 0
    for headers in [OWN, {"sec-fetch-site": "same-origin"}]:
        assert client.post("/api/rooms", headers=headers).status_code == 201, headers


def test_one_address_starts_only_so_many_rooms_an_hour() -> None:
    with TestClient(create_app(Settings(room_creations_per_hour=2))) as client:
        create_room(client)
        create_room(client)
        response = client.post("/api/rooms", headers=OWN)
        assert response.status_code == 429
        assert response.json()["detail"]["code"] == "rate_limited"
        assert response.headers["retry-after"] == "1800"  # 2 an hour: the next in half an hour
        assert client.get("/healthz").json()["rooms"] == 2


def test_unknown_codes_are_limited_per_address_but_known_ones_are_free() -> None:
    with TestClient(create_app(Settings(room_misses_per_minute=3))) as client:
        room = create_room(client)
        for _ in range(10):  # a class joining: only codes that exist, so nothing counts
            assert client.get(f"/room/{room['code']}").status_code == 200
        for path in ("/room/ZZZZZZ", "/room/ZZZZZY/teach", "/room/ZZZZZX/qr.svg"):
            assert client.get(path).status_code == 404, path
        limited = client.get("/room/ZZZZZW")
        assert limited.status_code == 429
        assert limited.json()["detail"]["code"] == "rate_limited"
        assert limited.headers["retry-after"] == "20"  # 3 a minute: one more in 20 s
        # Limited means limited: a hit would tell a guesser it guessed right.
        assert client.get(f"/room/{room['code']}").status_code == 429
        with client.websocket_connect(f"/ws/room/{room['code']}") as ws:
            error = receive(ws)
            assert (error["type"], error["code"]) == ("error", "rate_limited")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1013


def test_unknown_codes_on_the_socket_count_too() -> None:
    with TestClient(create_app(Settings(room_misses_per_minute=2))) as client:
        for code in ("ZZZZZZ", "bad-code"):
            with client.websocket_connect(f"/ws/room/{code}") as ws:
                assert receive(ws)["reason"] == "not_found"
        assert client.get("/room/ZZZZZZ").status_code == 429


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_limiter_refills_over_its_window_and_counts_each_address_apart() -> None:
    clock = Clock()
    limiter = AddressLimiter(2, 60.0, clock=clock)
    for _ in range(2):
        assert limiter.wait("10.0.0.1") == 0
        limiter.take("10.0.0.1")
    assert limiter.wait("10.0.0.1") == 30.0
    assert limiter.wait("10.0.0.2") == 0
    clock.now = 15.0
    assert limiter.wait("10.0.0.1") == 15.0
    clock.now = 30.0
    assert limiter.wait("10.0.0.1") == 0


def test_an_ipv6_host_counts_as_its_whole_64() -> None:
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_key("::ffff:10.0.0.1") == "10.0.0.1"
    assert address_key("testclient") == "testclient"


def test_a_limiter_forgets_idle_addresses_first_and_stays_bounded() -> None:
    clock = Clock()
    limiter = AddressLimiter(2, 60.0, clock=clock)
    for i in range(MAX_ADDRESSES):
        limiter.take(f"10.1.{i // 256}.{i % 256}")
    clock.now = 45.0  # every one of them has refilled: their buckets mean nothing now
    limiter.take("busy")
    assert set(limiter._buckets) == {"busy"}
    for i in range(MAX_ADDRESSES):  # none idle: the least recently used goes
        limiter.take(f"10.2.{i // 256}.{i % 256}")
    assert len(limiter._buckets) <= MAX_ADDRESSES and "busy" not in limiter._buckets
