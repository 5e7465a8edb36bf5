"""Classroom rooms: lifecycle, authorisation, fan-out, fork, expiry, coalescing of slow students."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Iterator
from typing import Any, get_args

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.broker import LocalBroker, RoomMessage
from app.web.connection import Outbox
from app.web.live import LiveConnection, SessionRegistry, limits_from
from app.web.main import create_app
from app.web.rooms import CODE_ALPHABET, CODE_LENGTH, Rooms, Seat, Snapshot
from app.web.settings import Settings
from tests.conftest import LiveServer, run_async
from tests.web.rawws import RawClient
from tests.web.test_transport import StalledSocket
from tests.web.wsutil import decode, greet, receive, until_ack

Room = dict[str, Any]

# Commands a student might try over the socket (every command type is checked at the seat below).
CONTROL_COMMANDS: dict[str, dict[str, Any]] = {
    "configure": {"config": {"hidden_size": 5}},
    "reset": {},
    "step_forward": {},
    "step_backward": {},
    "advance": {},
    "finish_iteration": {},
    "play": {"steps_per_second": 10},
    "pause": {},
    "train": {"iterations": 10},
    "set_hyper": {"learning_rate": 0.5},
    "sample": {"length": 5},
    "export": {},
    "import": {},  # filled in by example()
    "end_room": {},
}


def example(command: str) -> dict[str, Any]:
    """A valid message of this type."""
    if command == "import":
        session = Session(p.RunConfig(), limits_from(Settings()))
        return {"type": command, "state": orjson.loads(p.encode(session.export()))["state"]}
    return {"type": command, **CONTROL_COMMANDS[command]}


def create_room(client: TestClient) -> Room:
    response = client.post("/api/rooms")
    assert response.status_code == 201, response.text
    room: Room = response.json()
    return room


def seat(ws: WebSocketTestSession, role: str = "student") -> list[Any]:
    """Read what every new seat gets: the room frame, then the run's current state."""
    room = receive(ws)
    assert room["type"] == "room" and room["role"] == "student"
    frames = [receive(ws), receive(ws)]
    assert [f["type"] for f in frames] == ["hello", "spectrum"]
    return frames


def teach(ws: WebSocketTestSession, room: Room) -> Any:
    """Show the token; return the teacher's room frame."""
    frames = until_ack(ws, {"type": "join", "token": room["token"], "id": 0})
    assert [f["type"] for f in frames] == ["room", "ack"]
    assert frames[0]["role"] == "teacher"
    return frames[0]


def drive(teacher: WebSocketTestSession, command: dict[str, Any]) -> list[Any]:
    """A teacher's command: its frames up to the ack, without the student counts sent meanwhile."""
    return [f for f in until_ack(teacher, command) if f["type"] != "room"]


def until_count(teacher: WebSocketTestSession, students: int) -> None:
    """Read the teacher's frames until the student count says `students`."""
    for _ in range(200):
        frame = receive(teacher)
        if frame["type"] == "room" and frame["students"] == students:
            return
    raise AssertionError(f"the count never said {students}")


def receive_until(ws: WebSocketTestSession, kind: str, limit: int = 200) -> list[Any]:
    frames = []
    for _ in range(limit):
        frames.append(receive(ws))
        if frames[-1]["type"] == kind:
            return frames
    raise AssertionError(f"no {kind} frame in {limit}")


@pytest.fixture
def classroom(client: TestClient) -> Iterator[tuple[TestClient, Room]]:
    yield client, create_room(client)


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
    with TestClient(create_app(Settings(max_rooms=2))) as client:
        create_room(client)
        create_room(client)
        response = client.post("/api/rooms")
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


# ---------------------------------------------------------------- watching the teacher's run


def test_students_see_the_teachers_frames_as_they_happen(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with (
        client.websocket_connect(url) as teacher,
        client.websocket_connect(url) as first,
        client.websocket_connect(url) as second,
    ):
        teacher_hello = seat(teacher)[0]
        teach(teacher, room)
        assert seat(first)[0] == teacher_hello == seat(second)[0]
        for t in range(2):
            forward = drive(teacher, {"type": "step_forward", "id": t + 1})[0]
            assert forward["type"] == "forward" and forward["t"] == t
            assert receive(first) == forward == receive(second)
        frames = drive(teacher, {"type": "configure", "config": {"hidden_size": 6}, "id": 9})
        assert [f["type"] for f in frames] == ["hello", "spectrum", "ack"]
        for student in (first, second):
            assert receive(student) == frames[0]
            assert receive(student) == frames[1]


def test_a_late_student_gets_the_run_as_it_is_now(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as teacher:
        seat(teacher)
        teach(teacher, room)
        sent = drive(teacher, {"type": "finish_iteration", "id": 1})[:-1]
        sent += [drive(teacher, {"type": "step_forward", "id": 2 + t})[0] for t in range(3)]
        with client.websocket_connect(url) as late:
            hello, spectrum = seat(late)
            assert hello["type"] == "hello"
            # The iteration in progress: its sequence, then the three steps taken so far.
            steps = [receive(late) for _ in range(4)]
            assert steps == [sent[-5], *sent[-3:]]  # sequence, then forward t = 0, 1, 2
            assert steps[0]["type"] == "sequence" and steps[0]["iteration"] == 1
            assert spectrum == sent[-4]  # the spectrum after the update


def test_one_engine_run_per_room_and_one_encoding_per_frame(
    classroom: tuple[TestClient, Room], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    encoded: list[str] = []
    original = p.encode

    def counting(frame: Any) -> bytes:
        encoded.append(frame.type)
        return original(frame)

    with client.websocket_connect(url) as teacher:
        seat(teacher)
        teach(teacher, room)
        students = [client.websocket_connect(url) for _ in range(5)]
        for student in students:
            seat(student.__enter__())
        app: FastAPI = client.app  # type: ignore[assignment]
        live_room = app.state.rooms.owned[room["code"]]
        calls = 0
        advance = live_room.driver.session.advance

        def counted_advance() -> list[Any]:
            nonlocal calls
            calls += 1
            return advance()

        monkeypatch.setattr(live_room.driver.session, "advance", counted_advance)
        monkeypatch.setattr(p, "encode", counting)
        drive(teacher, {"type": "advance", "id": 1})
        for student in students:
            assert receive(student)["type"] == "forward"
            student.__exit__(None, None, None)
    assert calls == 1
    assert encoded.count("forward") == 1


# ---------------------------------------------------------------- authorisation


@pytest.mark.parametrize("command", list(CONTROL_COMMANDS), ids=str)
def test_control_commands_are_refused_without_the_token(
    classroom: tuple[TestClient, Room], command: str
) -> None:
    client, room = classroom
    with client.websocket_connect(f"/ws/room/{room['code']}") as student:
        seat(student)
        message = {**example(command), "id": 7}
        error = until_ack(student, message)[-1]
        assert error["type"] == "error" and error["code"] == "forbidden", error
        assert error["command_id"] == 7
        assert "only the teacher" in error["message"] and "fork" in error["message"]
        # The room is untouched and the student still follows it.
        assert until_ack(student, {"type": "pause", "id": 8})[-1]["code"] == "forbidden"
    app: FastAPI = client.app  # type: ignore[assignment]
    live_room = app.state.rooms.owned[room["code"]]
    assert live_room.driver.session.iteration.forward.t == 0
    assert live_room.driver.job is None


def test_every_command_but_join_and_fork_is_refused_at_a_students_seat() -> None:
    seat = Seat(None, "ABC234", None)  # type: ignore[arg-type]  # a student's seat needs neither
    models = get_args(get_args(p.Command)[0])
    assert len(models) == len(p.COMMAND_TYPES)
    for model in models:
        tag = get_args(model.model_fields["type"].annotation)[0]
        if tag in ("join", "fork"):
            continue
        with pytest.raises(CommandRefused) as refused:
            run_async(seat.handle(model.model_construct(type=tag, id=1)))
        assert refused.value.code == "forbidden", tag


def test_a_wrong_token_is_refused_and_names_the_field(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    with client.websocket_connect(f"/ws/room/{room['code']}") as student:
        seat(student)
        for token in ("guess", room["token"][:-1], room["token"] + "x"):
            error = until_ack(student, {"type": "join", "token": token, "id": 1})[-1]
            assert (error["code"], error["field"]) == ("forbidden", "token")
        error = until_ack(student, {"type": "join", "token": "", "id": 2})[-1]
        assert (error["code"], error["field"]) == ("out_of_range", "token")
        assert until_ack(student, {"type": "step_forward", "id": 3})[-1]["code"] == "forbidden"


def test_room_commands_outside_a_room_are_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        for command in ({"type": "join", "token": "x"}, {"type": "fork"}, {"type": "end_room"}):
            error = until_ack(ws, {**command, "id": 1})[-1]
            assert error["code"] == "bad_phase" and "/ws/room/" in error["message"]
        assert until_ack(ws, {"type": "step_forward", "id": 2})[0]["type"] == "forward"


def test_the_teacher_sees_how_many_students_are_connected(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as teacher:
        seat(teacher)
        assert teach(teacher, room)["students"] == 0
        with client.websocket_connect(url) as one, client.websocket_connect(url) as two:
            seat(one)
            seat(two)
            until_count(teacher, 2)
        until_count(teacher, 0)


# ---------------------------------------------------------------- fork


def test_a_student_forks_the_current_state_and_goes_on_alone(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as teacher, client.websocket_connect(url) as student:
        room_hello = seat(teacher)[0]
        teach(teacher, room)
        seat(student)
        shown = [drive(teacher, {"type": "step_forward", "id": t + 1})[0] for t in range(2)]
        assert [receive(student), receive(student)] == shown
        frames = until_ack(student, {"type": "fork", "id": 5})
        assert [f["type"] for f in frames] == ["hello", "spectrum", "forward", "forward", "ack"]
        assert frames[2:4] == shown  # the copy shows what the room showed
        hello = frames[0]
        assert hello["session_id"] != room_hello["session_id"]
        assert hello["tokens"] == room_hello["tokens"] and hello["config"] == room_hello["config"]
        # The copy goes on from the room's cursor (t = 2) with the room's numbers ...
        mine = until_ack(student, {"type": "step_forward", "id": 6})[0]
        theirs = drive(teacher, {"type": "step_forward", "id": 3})[0]
        assert mine == theirs and mine["t"] == 2
        # ... and from now on the two runs are apart.
        until_ack(student, {"type": "reset", "id": 7})
        assert drive(teacher, {"type": "step_forward", "id": 4})[0]["t"] == 3
        forward = until_ack(student, {"type": "step_forward", "id": 8})
        assert [f["type"] for f in forward] == ["forward", "ack"]  # no room frames any more
        assert forward[0]["t"] == 0
        app: FastAPI = client.app  # type: ignore[assignment]
        assert len(app.state.sessions.live) == 1  # the fork counts as a session
        assert app.state.rooms.owned[room["code"]].students == 0  # it left the room
    assert not app.state.sessions.live


def test_a_fork_is_refused_when_the_server_is_full() -> None:
    with TestClient(create_app(Settings(max_sessions=1))) as client:
        room = create_room(client)
        with (
            client.websocket_connect("/ws") as private,
            client.websocket_connect(f"/ws/room/{room['code']}") as student,
        ):
            greet(private)
            seat(student)
            error = until_ack(student, {"type": "fork", "id": 1})[-1]
            assert error["code"] == "server_busy"


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
    settings = Settings(room_idle_seconds=0.3)
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
    with TestClient(create_app(Settings(room_idle_seconds=0.2))) as client:
        room = create_room(client)
        with client.websocket_connect(f"/ws/room/{room['code']}") as teacher:
            seat(teacher)
            teach(teacher, room)
            time.sleep(0.5)
            frames = drive(teacher, {"type": "step_forward", "id": 1})
            assert [f["type"] for f in frames][-2:] == ["forward", "ack"]
        time.sleep(0.5)  # the teacher left: now the idle clock runs out
        assert client.get("/healthz").json()["rooms"] == 0


# ---------------------------------------------------------------- slow students


def test_a_lagging_viewer_skips_to_the_current_state() -> None:
    snapshot = Snapshot()

    def frame(seq: int, kind: str) -> RoomMessage:
        return RoomMessage(seq, kind, f"{kind}-{seq}")

    async def scenario() -> list[str | None]:
        box = Outbox(capacity=3)
        box.resync = snapshot.frames
        box.put("reply", droppable=False)
        for seq, kind in enumerate(["hello", "spectrum", "sequence"] + ["forward"] * 6, 1):
            message = frame(seq, kind)
            snapshot.apply(message)
            box.put(message.data, droppable=True)
        assert len(box) <= 1 + 3  # coalesced: never more than the cap of animation
        return [await box.get() for _ in range(10)]

    sent = run_async(scenario())
    expected = ["hello-1", "spectrum-2", "sequence-3"] + [f"forward-{s}" for s in range(4, 10)]
    assert sent == ["reply", *expected]


def test_the_snapshot_keeps_what_a_newcomer_needs() -> None:
    snapshot = Snapshot()
    kinds = ["hello", "spectrum", "forward", "forward", "backward", "backward", "update"]
    kinds += ["sequence", "spectrum", "forward", "progress", "sample"]
    for seq, kind in enumerate(kinds, 1):
        snapshot.apply(RoomMessage(seq, kind, f"{kind}-{seq}"))
    assert snapshot.frames() == [
        "hello-1",
        "spectrum-9",
        "progress-11",
        "sample-12",
        "sequence-8",
        "forward-10",
    ]
    again = Snapshot.unpack(snapshot.pack())
    assert again.frames() == snapshot.frames() and again.seq == 12
    snapshot.apply(RoomMessage(13, "hello", "hello-13"))
    assert snapshot.frames() == ["hello-13"]


def test_a_stalled_student_is_coalesced_and_catches_up_on_the_current_state() -> None:
    settings = Settings(send_queue_frames=8, max_commands_per_second=1000)

    async def scenario() -> tuple[StalledSocket, Any]:
        rooms = Rooms(settings, SessionRegistry(10), LocalBroker())
        room = await rooms.create()
        socket = StalledSocket([])
        socket.url = "ws://testserver/ws/room/CODE"  # type: ignore[attr-defined]
        student = LiveConnection(socket, None, settings)  # type: ignore[arg-type]
        assert await rooms.seat(room.code, student) is not None
        serving = asyncio.create_task(student.run())
        await room.run(p.Play(type="play", steps_per_second=120))
        await asyncio.sleep(0.5)  # about 60 frames, none read
        assert student.outbox.dropped > 0
        assert len(student.outbox) <= 1 + settings.send_queue_frames  # + the room frame
        await room.run(p.Pause(type="pause"))
        socket.reading.set()  # the student reads again
        await asyncio.sleep(0.1)
        await room.end("ended")
        await asyncio.wait_for(serving, 5)
        return socket, room.snapshot

    socket, snapshot = run_async(scenario())
    kinds = [frame["type"] for frame in socket.sent]
    for frame in socket.sent:
        p.frame_adapter.validate_python(frame)
    assert kinds[0] == "room" and kinds[-1] == "room_closed"
    # What it got after falling behind is the room's state when it read again, in one burst.
    latest = [orjson.loads(f) for f in snapshot.frames()]
    start = len(socket.sent) - 1 - len(latest)
    assert socket.sent[start:-1] == latest
    assert socket.sent[start]["type"] == "hello"


def test_a_stalled_student_never_slows_the_room(live_server: LiveServer) -> None:
    request = urllib.request.Request(live_server.http + "/api/rooms", method="POST")
    room = orjson.loads(urllib.request.urlopen(request).read())
    path = f"/ws/room/{room['code']}"
    stalled = RawClient("127.0.0.1", live_server.port, path=path)
    try:
        url = f"ws://127.0.0.1:{live_server.port}{path}"
        with connect(url) as teacher, connect(url) as healthy:
            for ws in (teacher, healthy):
                assert [decode(ws.recv())["type"] for _ in range(3)] == [
                    "room",
                    "hello",
                    "spectrum",
                ]
            teacher.send(orjson.dumps({"type": "join", "token": room["token"], "id": 0}).decode())
            while decode(teacher.recv())["type"] != "ack":
                pass
            # Many frames, fast: the stalled student's socket buffers fill up.
            config = {"hidden_size": 64, "seq_len": 50}
            teacher.send(orjson.dumps({"type": "configure", "config": config, "id": 1}).decode())
            teacher.send(orjson.dumps({"type": "play", "steps_per_second": 100, "id": 2}).decode())
            round_trips, seen = [], 0
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline:
                started = time.perf_counter()
                command = {"type": "set_hyper", "learning_rate": 0.05, "id": 3}
                teacher.send(orjson.dumps(command).decode())
                while decode(teacher.recv()).get("command_id") != 3:
                    pass
                round_trips.append(time.perf_counter() - started)
                time.sleep(0.02)
                while True:  # the healthy student keeps up
                    try:
                        healthy.recv(timeout=0)
                        seen += 1
                    except TimeoutError:
                        break
            app = live_server.server.config.app
            student_boxes = [
                s.outbox for relay in app.state.rooms.relays.values() for s in relay.students
            ]
            assert len(student_boxes) == 2
            cap = app.state.settings.send_queue_frames
            assert all(len(box) <= cap + 2 * 50 + 8 for box in student_boxes)  # bounded
        assert seen > 50
        assert sorted(round_trips)[len(round_trips) // 2] < 0.05
    finally:
        stalled.close()
