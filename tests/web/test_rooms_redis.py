"""Rooms across server processes: two real servers on loopback sharing one Redis."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection, connect

from bench._redis import redis_server
from bench._server import ServerProcess, running_server
from tests.web.wsutil import decode


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free loopback port, stopped after the tests."""
    with redis_server() as server:
        yield server.url


@pytest.fixture(scope="module")
def servers(redis_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes, A and B, started side by side."""
    env = {"UNROLL_REDIS_URL": redis_url, "UNROLL_MAX_COMMANDS_PER_SECOND": "1000"}
    with ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        started = list(pool.map(lambda _: stack.enter_context(running_server(**env)), range(2)))
        yield started[0], started[1]


def post_room(server: ServerProcess) -> Any:
    origin = f"http://127.0.0.1:{server.port}"
    request = urllib.request.Request(
        f"{origin}/api/rooms", method="POST", headers={"Origin": origin}
    )
    return orjson.loads(urllib.request.urlopen(request, timeout=5).read())


def room_socket(server: ServerProcess, code: str) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{server.port}/ws/room/{code}", open_timeout=5)


def recv(ws: ClientConnection) -> Any:
    return decode(ws.recv(timeout=5))


def command(
    ws: ClientConnection, message: dict[str, Any], counts: list[int] | None = None
) -> list[Any]:
    """Send; return every frame up to its ack or error, but the student counts (into `counts`)."""
    ws.send(orjson.dumps(message).decode())
    frames = [recv(ws)]
    while frames[-1].get("command_id") != message["id"]:
        frames.append(recv(ws))
    if counts is not None:
        counts += [f["students"] for f in frames if f["type"] == "room"]
    return [f for f in frames if f["type"] != "room" or f.get("command_id") is not None]


def seat(ws: ClientConnection) -> list[Any]:
    frames = [recv(ws) for _ in range(4)]
    assert [f["type"] for f in frames] == ["room", "hello", "spectrum", "room_state"]
    return frames


def test_a_student_on_process_b_follows_a_room_driven_through_process_a(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = servers
    room = post_room(a)
    code = room["code"]
    with room_socket(a, code) as teacher, room_socket(b, code) as student:
        hello = seat(teacher)[1]
        counts: list[int] = []
        joined = command(teacher, {"type": "join", "token": room["token"], "id": 1}, counts)
        assert joined[-1]["type"] == "ack"
        assert seat(student)[1] == hello
        for t in range(3):
            forward = command(teacher, {"type": "step_forward", "id": 10 + t}, counts)[0]
            assert recv(student) == forward and forward["t"] == t
        # The teacher's count includes students of the other process.
        while 1 not in counts:
            frame = recv(teacher)
            counts += [frame["students"]] if frame["type"] == "room" else []
        # A late student on B gets the current state from B's replica.
        with room_socket(b, code) as late:
            seat(late)
            assert [recv(late)["t"] for _ in range(3)] == [0, 1, 2]
        # The room's pages and QR code are served by B too.
        page = urllib.request.urlopen(f"http://127.0.0.1:{b.port}/room/{code}", timeout=5)
        assert page.status == 200


def test_a_teacher_at_process_b_drives_a_room_owned_by_process_a(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = servers
    room = post_room(a)
    code = room["code"]
    with room_socket(b, code) as teacher, room_socket(a, code) as student:
        seat(teacher)
        seat(student)
        wrong = command(teacher, {"type": "join", "token": "not-the-token", "id": 1})[-1]
        assert (wrong["code"], wrong["field"]) == ("forbidden", "token")
        counts: list[int] = []  # the room frames (a teacher's: with the count) are kept here
        joined = command(teacher, {"type": "join", "token": room["token"], "id": 2}, counts)
        assert [f["type"] for f in joined] == ["class", "ack"] and counts
        # The command arrives at B, runs at A, reaches the student at A and the teacher at B.
        frames = command(teacher, {"type": "step_forward", "id": 3})
        assert frames[-1] == {"type": "ack", "command": "step_forward", "command_id": 3}
        forward = recv(student)
        assert forward["type"] == "forward" and forward["t"] == 0
        while frames[0]["type"] != "forward":  # the relay's copy may trail the ack
            frames = [recv(teacher)]
        assert frames[0] == forward
        # A refusal comes back typed, naming its field; teacher-only replies reach the sender.
        refused = command(teacher, {"type": "spotlight", "fork_id": "nobody", "id": 4})[-1]
        assert (refused["code"], refused["field"]) == ("not_found", "fork_id")
        csv = command(teacher, {"type": "class_csv", "id": 5})
        assert [f["type"] for f in csv if f["type"] in ("class_csv", "ack")] == ["class_csv", "ack"]
        locked = command(teacher, {"type": "lock_forks", "locked": True, "id": 6})
        assert locked[-1]["type"] == "ack"
        # The student count of A reaches the teacher at B.
        while (frame := recv(teacher))["type"] != "room" or frame["students"] != 1:
            pass
        state = recv(student)
        assert state["type"] == "room_state" and state["forking"] is False
        error = command(student, {"type": "fork", "id": 7})[-1]
        assert error["code"] == "forbidden" and "paused forking" in error["message"]
        # Unlocked, a student at A forks: the teacher at B sees the class view list it.
        command(teacher, {"type": "lock_forks", "locked": False, "id": 8})
        frames = command(student, {"type": "fork", "nickname": "Ada", "id": 9})
        (fork_id,) = [f["fork_id"] for f in frames if f["type"] == "forked"]
        while (frame := recv(teacher))["type"] != "class" or not frame["rows"]:
            pass
        assert [(row["fork_id"], row["name"]) for row in frame["rows"]] == [(fork_id, "Ada")]


def test_a_fork_on_process_b_copies_the_room_state_from_process_a(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = servers
    room = post_room(a)
    with room_socket(a, room["code"]) as teacher, room_socket(b, room["code"]) as student:
        seat(teacher)
        command(teacher, {"type": "join", "token": room["token"], "id": 1})
        seat(student)
        shown = command(teacher, {"type": "step_forward", "id": 2})[0]
        assert recv(student) == shown
        frames = command(student, {"type": "fork", "id": 3})
        assert [f["type"] for f in frames] == ["forked", "hello", "spectrum", "forward", "ack"]
        assert frames[3] == shown
        mine = command(student, {"type": "step_forward", "id": 4})[0]
        theirs = [f for f in command(teacher, {"type": "step_forward", "id": 5}) if "t" in f]
        assert theirs == [mine]


def test_ending_a_room_closes_its_students_on_every_process(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = servers
    room = post_room(a)
    with room_socket(a, room["code"]) as teacher, room_socket(b, room["code"]) as student:
        seat(teacher)
        command(teacher, {"type": "join", "token": room["token"], "id": 1})
        seat(student)
        command(teacher, {"type": "end_room", "id": 2})
        frames = [recv(student)]
        while frames[-1]["type"] != "room_closed":
            frames.append(recv(student))
        assert frames[-1]["reason"] == "ended"
        with pytest.raises(ConnectionClosedOK):
            student.recv(timeout=5)
        assert student.close_code == 1000
    with room_socket(b, room["code"]) as again:
        assert recv(again)["reason"] == "not_found"


def test_a_fork_made_at_process_b_is_resumed_at_a_and_spotlit_from_a(
    servers: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = servers
    room = post_room(a)
    code = room["code"]
    with room_socket(a, code) as teacher, room_socket(a, code) as watcher:
        seat(teacher)
        seat(watcher)
        command(teacher, {"type": "join", "token": room["token"], "id": 1})
        with room_socket(b, code) as student:
            seat(student)
            frames = command(student, {"type": "fork", "nickname": "Ada", "id": 2})
            forked = frames[0]
            assert forked["type"] == "forked" and forked["name"] == "Ada"
            command(student, {"type": "configure", "config": {"hidden_size": 5}, "id": 3})
            mine = command(student, {"type": "step_forward", "id": 4})[0]
        # A reload lands on the other process: the fork moves there, with what it showed.
        with room_socket(a, code) as back:
            seat(back)
            resume = {"type": "resume_fork", "fork_id": forked["fork_id"], "id": 5}
            wrong = command(back, {**resume, "secret": "not-it"})[-1]
            assert (wrong["code"], wrong["field"]) == ("forbidden", "secret")
            frames = command(back, {**resume, "secret": forked["secret"]})
            assert [f["type"] for f in frames] == ["forked", "hello", "spectrum", "forward", "ack"]
            assert frames[1]["config"]["hidden_size"] == 5 and frames[3] == mine
            after = command(back, {"type": "step_forward", "id": 6})[0]
            assert after["t"] == 1
            # The teacher shows it to everyone.
            shown = command(teacher, {"type": "spotlight", "fork_id": forked["fork_id"], "id": 7})
            assert shown[-1]["type"] == "ack"
            frame = recv(watcher)
            while frame["type"] != "room_state":
                frame = recv(watcher)
            assert frame["spotlight"] == {"fork_id": forked["fork_id"], "name": "Ada"}
        # Gone from B: resuming it there again is a move from A, not a second copy.
        with room_socket(b, code) as again:
            seat(again)
            frames = command(again, {**resume, "secret": forked["secret"], "id": 8})
            kinds = [f["type"] for f in frames]  # after the spotlit run's steps, as a seat gets
            assert "forked" in kinds and kinds[-1] == "ack"
