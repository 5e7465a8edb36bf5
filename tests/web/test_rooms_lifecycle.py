"""Classroom rooms: creating one (code, token, link, QR, limits), ending it, and expiry."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.web.main import create_app
from app.web.rooms.registry import CODE_ALPHABET, CODE_LENGTH
from app.web.settings import Settings
from tests.web.hostutil import small
from tests.web.roomutil import Room, create_room, drive, receive_until, seat, teach
from tests.web.wsutil import receive

# ---------------------------------------------------------------- creating a room


def test_a_room_has_a_short_code_a_secret_token_a_link_and_a_qr_code(client: TestClient) -> None:
    room = create_room(client)
    code = room["code"]
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert len(room["token"]) >= 32
    assert room["join_url"] == f"http://testserver/room/{code}"
    assert room["teacher_url"] == f"/room/{code}/teach#token={room['token']}"
    qr = client.get(room["qr_url"])
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
    assert qr.text.startswith("<svg") and "viewBox" in qr.text
    for page in (f"/room/{code}", f"/room/{code.lower()}", f"/room/{code}/teach", "/room"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert room["token"] not in response.text  # the token never appears in a page
    assert client.get("/healthz").json()["rooms"] == 1
    assert client.get(f"/room?code={code.lower()}", follow_redirects=False).headers["location"] == (
        f"/room/{code}"
    )


def test_room_parameters_are_validated_naming_the_field(client: TestClient) -> None:
    for path in ("/room/no!", "/room/x/teach", "/room/waytoolongcode/qr.svg", "/room?code=a-b"):
        response = client.get(path)
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["loc"][-1] == "code"
    for path in ("/room/ZZZZZZ/teach", "/room/ZZZZZZ/qr.svg"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["detail"]["field"] == "code"
    assert client.get("/room/ZZZZZZ").status_code == 404


def test_rooms_are_created_from_the_servers_own_pages_only(client: TestClient) -> None:
    response = client.post("/api/rooms", headers={"origin": "http://evil.example"})
    assert response.status_code == 403
    assert response.json()["detail"]["code"] == "forbidden"
    assert client.post("/api/rooms", headers={"origin": "http://testserver"}).status_code == 201


def test_a_server_holds_at_most_max_rooms() -> None:
    with TestClient(create_app(small(Settings(max_rooms=2)))) as client:
        create_room(client)
        create_room(client)
        response = client.post("/api/rooms", headers={"origin": "http://testserver"})
        assert response.status_code == 503
        assert response.json()["detail"]["code"] == "server_busy"


def test_an_unknown_room_says_so_and_closes(client: TestClient) -> None:
    for code in ("ZZZZZZ", "bad-code"):
        with client.websocket_connect(f"/ws/room/{code}") as ws:
            closed = receive(ws)
            assert closed["type"] == "room_closed" and closed["reason"] == "not_found"
            with pytest.raises(WebSocketDisconnect) as disconnect:
                ws.receive_text()
            assert disconnect.value.code == 1000


def test_a_foreign_origin_is_refused_at_the_handshake(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    with pytest.raises(WebSocketDisconnect) as refused:  # noqa: SIM117
        with client.websocket_connect(
            f"/ws/room/{room['code']}", headers={"origin": "http://evil.example"}
        ):
            pass
    assert refused.value.code == 1008


# ---------------------------------------------------------------- ending and expiry


def test_ending_a_room_closes_every_view_politely(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as teacher, client.websocket_connect(url) as student:
        seat(teacher)
        teach(teacher, room)
        seat(student)
        drive(teacher, {"type": "play", "steps_per_second": 50, "id": 1})
        frames = drive(teacher, {"type": "end_room", "id": 2})
        assert frames[-2]["type"] == "room_closed" and frames[-2]["reason"] == "ended"
        closed = receive_until(student, "room_closed")[-1]
        assert closed["message"] == f"The teacher ended room {room['code']}."
        for ws in (teacher, student):
            with pytest.raises(WebSocketDisconnect) as disconnect:
                while True:
                    ws.receive_text()
            assert disconnect.value.code == 1000
    assert client.get(room["qr_url"]).status_code == 404
    with client.websocket_connect(url) as again:
        assert receive(again)["reason"] == "not_found"


def test_a_room_without_its_teacher_expires_after_the_idle_time() -> None:
    settings = small(Settings(room_idle_seconds=0.3))
    with TestClient(create_app(settings)) as client:
        room = create_room(client)
        with client.websocket_connect(f"/ws/room/{room['code']}") as student:
            seat(student)
            started = time.monotonic()
            closed = receive(student)
            assert closed["type"] == "room_closed" and closed["reason"] == "expired"
            assert 0.2 < time.monotonic() - started < 2
        assert client.get("/healthz").json()["rooms"] == 0


def test_a_connected_teacher_keeps_the_room_open() -> None:
    with TestClient(create_app(small(Settings(room_idle_seconds=0.2)))) as client:
        room = create_room(client)
        with client.websocket_connect(f"/ws/room/{room['code']}") as teacher:
            seat(teacher)
            teach(teacher, room)
            time.sleep(0.5)
            frames = drive(teacher, {"type": "step_forward", "id": 1})
            assert [f["type"] for f in frames][-2:] == ["forward", "ack"]
        time.sleep(0.5)  # the teacher left: now the idle clock runs out
        assert client.get("/healthz").json()["rooms"] == 0
