"""Helpers for classroom room tests: create a room, take a seat, teach, drive."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from tests.web.wsutil import receive, until_ack

Room = dict[str, Any]


def create_room(client: TestClient) -> Room:
    response = client.post("/api/rooms", headers={"origin": "http://testserver"})
    assert response.status_code == 201, response.text
    room: Room = response.json()
    return room


def seat(ws: WebSocketTestSession) -> list[Any]:
    """Read what every new seat gets: the room frame, then the run's current state (hello,
    spectrum, the training chart's points, the room's state); return hello and spectrum."""
    room = receive(ws)
    assert room["type"] == "room" and room["role"] == "student"
    frames = [receive(ws), receive(ws)]
    assert [f["type"] for f in frames] == ["hello", "spectrum"]
    while (frame := receive(ws))["type"] != "room_state":
        assert frame["type"] in ("progress", "update", "sample"), frame["type"]
    return frames


def teach(ws: WebSocketTestSession, room: Room) -> Any:
    """Show the token; return the teacher's room frame."""
    frames = until_ack(ws, {"type": "join", "token": room["token"], "id": 0})
    assert [f["type"] for f in frames] == ["room", "class", "ack"]
    assert frames[0]["role"] == "teacher"
    return frames[0]


@contextmanager
def in_class(
    client: TestClient, room: Room, students: int
) -> Iterator[tuple[WebSocketTestSession, list[WebSocketTestSession]]]:
    """The room's teacher (seated, then shown the token) and `students` seated students."""
    url = f"/ws/room/{room['code']}"
    with ExitStack() as stack:
        teacher = stack.enter_context(client.websocket_connect(url))
        seat(teacher)
        teach(teacher, room)
        seated = [stack.enter_context(client.websocket_connect(url)) for _ in range(students)]
        for student in seated:
            seat(student)
        yield teacher, seated


def drive(teacher: WebSocketTestSession, command: dict[str, Any]) -> list[Any]:
    """A teacher's command: its frames up to the ack, without the student counts and class views
    sent meanwhile."""
    return [f for f in until_ack(teacher, command) if f["type"] not in ("room", "class")]


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
