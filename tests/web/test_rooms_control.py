"""Classroom rooms: only the teacher drives; students are counted and may fork."""

from __future__ import annotations

from typing import get_args

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import protocol as p
from app.session import CommandRefused
from app.web.main import create_app
from app.web.rooms.relay import Relay
from app.web.rooms.seat import Seat
from app.web.settings import Settings
from tests.conftest import run_async
from tests.web.hostutil import small
from tests.web.roomutil import Room, create_room, drive, seat, teach, until_count
from tests.web.wsutil import EXAMPLES, example, greet, receive, until_ack

# ---------------------------------------------------------------- authorisation


# Every command a student might try over the socket but its own (see the test below).
STUDENT_COMMANDS = {"join", "fork", "resume_fork", "leave_fork"}


@pytest.mark.parametrize("command", sorted(set(EXAMPLES) - STUDENT_COMMANDS), ids=str)
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
    state, _ = client.portal.call(live_room.driver.exported, lambda: None)  # type: ignore[union-attr]
    assert orjson.loads(state)["forward_steps"] == 0
    assert live_room.driver.job is None


def test_every_command_but_join_and_fork_is_refused_at_a_students_seat() -> None:
    # A student's seat: in a room with an open relay; its commands need no connection.
    seat = Seat(None, "ABC234", Relay(None, "ABC234"))  # type: ignore[arg-type]
    models = get_args(get_args(p.Command)[0])
    assert len(models) == len(p.COMMAND_TYPES)
    for model in models:
        tag = get_args(model.model_fields["type"].annotation)[0]
        if tag in STUDENT_COMMANDS:
            continue
        with pytest.raises(CommandRefused) as refused:
            run_async(seat.handle(model.model_construct(type=tag, id=1), None))  # type: ignore[arg-type]
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
        kinds = ["forked", "hello", "spectrum", "forward", "forward", "ack"]
        assert [f["type"] for f in frames] == kinds
        assert frames[3:5] == shown  # the copy shows what the room showed
        hello = frames[1]
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
    # Parked for its grace period (it still counts), not gone.
    (fork,) = app.state.rooms.forks.by_id.values()
    assert app.state.sessions.live == {fork} and fork.client is None


def test_a_fork_is_refused_when_the_server_is_full() -> None:
    with TestClient(create_app(small(Settings(max_sessions=1)))) as client:
        room = create_room(client)
        with (
            client.websocket_connect("/ws") as private,
            client.websocket_connect(f"/ws/room/{room['code']}") as student,
        ):
            greet(private)
            seat(student)
            error = until_ack(student, {"type": "fork", "id": 1})[-1]
            assert error["code"] == "server_busy"
