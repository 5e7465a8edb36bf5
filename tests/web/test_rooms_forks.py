"""Students' forks: named, resumable with their secret, parked for a grace period, left; the
teacher's lock; the class view; the spotlight."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from app.web.main import create_app
from app.web.settings import Settings
from tests.web.hostutil import small
from tests.web.roomutil import Room, create_room, drive, in_class, seat, teach
from tests.web.wsutil import receive, until_ack

Ws = WebSocketTestSession


@pytest.fixture
def brief() -> Iterator[tuple[TestClient, Room]]:
    """A room on a server whose forks outlive a dropped connection only briefly."""
    settings = Settings(fork_grace_seconds=0.2, max_commands_per_second=1000, max_sessions=1)
    settings = small(settings)
    with TestClient(create_app(settings)) as client:
        yield client, create_room(client)


def state_of(client: TestClient) -> Any:
    app: FastAPI = client.app  # type: ignore[assignment]
    return app.state


def until(condition: Callable[[], bool]) -> None:
    """Wait for a state of the server (it changes on its own loop)."""
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the condition never held")


def fork(student: Ws, nickname: str | None = None, id: int = 50) -> list[Any]:
    message: dict[str, Any] = {"type": "fork", "id": id}
    if nickname is not None:
        message["nickname"] = nickname
    frames = until_ack(student, message)
    kinds = [f["type"] for f in frames]
    return frames[kinds.index("forked") :] if "forked" in kinds else frames[-1:]


def until_frame(ws: Ws, test: Callable[[Any], bool], limit: int = 500) -> Any:
    for _ in range(limit):
        frame = receive(ws)
        if test(frame):
            return frame
    raise AssertionError("no such frame")


def test_a_fork_is_named_and_told_its_id_and_secret(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as first, client.websocket_connect(url) as second:
        seat(first)
        seat(second)
        forked = fork(first, "  Ada ")[0]
        assert forked["type"] == "forked" and forked["name"] == "Ada"
        assert forked["code"] == room["code"] and forked["grace_seconds"] == 300
        assert len(forked["fork_id"]) >= 8 and len(forked["secret"]) >= 24
        anonymous = fork(second)[0]
        assert anonymous["name"] == "Student 2" and anonymous["fork_id"] != forked["fork_id"]
        again = until_ack(first, {"type": "fork", "id": 2})[-1]
        assert again["code"] == "bad_phase"


def test_a_nickname_must_be_printable_and_short(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    with client.websocket_connect(f"/ws/room/{room['code']}") as student:
        seat(student)
        for nickname, code in [("a\u202eb", "invalid_message"), ("x" * 25, "out_of_range")]:
            error = fork(student, nickname)[-1]
            assert (error["type"], error["code"], error["field"]) == ("error", code, "nickname")


def test_a_fork_survives_a_reload_and_only_its_secret_resumes_it(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as student:
        seat(student)
        forked = fork(student, "Ada")[0]
        until_ack(student, {"type": "configure", "config": {"hidden_size": 5}, "id": 2})
        mine = [until_ack(student, {"type": "step_forward", "id": 3 + t})[0] for t in range(2)]
    fork_id, secret = forked["fork_id"], forked["secret"]
    (parked,) = state_of(client).rooms.forks.by_id.values()
    until(lambda: parked.client is None)
    assert parked in state_of(client).sessions.live  # a parked fork still counts
    with client.websocket_connect(url) as reloaded:
        seat(reloaded)
        wrong = until_ack(reloaded, {"type": "resume_fork", "fork_id": fork_id, "secret": "x"})
        assert (wrong[-1]["code"], wrong[-1]["field"]) == ("forbidden", "secret")
        unknown = until_ack(reloaded, {"type": "resume_fork", "fork_id": "nope", "secret": "x"})
        assert (unknown[-1]["code"], unknown[-1]["field"]) == ("not_found", "fork_id")
        resume = {"type": "resume_fork", "fork_id": fork_id, "secret": secret, "id": 9}
        frames = until_ack(reloaded, resume)
        kinds = [f["type"] for f in frames]
        assert kinds == ["forked", "hello", "spectrum", "forward", "forward", "ack"]
        assert frames[0]["fork_id"] == fork_id and frames[0]["name"] == "Ada"
        assert frames[1]["config"]["hidden_size"] == 5 and frames[3:5] == mine
        # It goes on where it was.
        assert until_ack(reloaded, {"type": "step_forward", "id": 10})[0]["t"] == 2


def test_a_parked_fork_is_freed_after_its_grace_period(brief: tuple[TestClient, Room]) -> None:
    client, room = brief
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as student:
        seat(student)
        forked = fork(student)[0]
        assert forked["grace_seconds"] == 0.2
    state = state_of(client)
    with client.websocket_connect(url) as other:
        seat(other)
        if state.rooms.forks.by_id:  # still parked: it holds the server's only session
            assert fork(other)[-1]["code"] == "server_busy"
        until(lambda: not state.sessions.live and not state.rooms.forks.by_id)
        assert fork(other)[0]["type"] == "forked"  # its place is free again
        until_ack(other, {"type": "leave_fork", "id": 60})
    with client.websocket_connect(url) as back:
        seat(back)
        resume = {"type": "resume_fork", "fork_id": forked["fork_id"], "secret": forked["secret"]}
        error = until_ack(back, {**resume, "id": 1})[-1]
        assert (error["code"], error["field"]) == ("not_found", "fork_id")


def test_leaving_a_fork_frees_it_and_follows_the_room_again(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    with in_class(client, room, 1) as (teacher, [student]):
        fork(student)
        assert until_ack(student, {"type": "leave_fork", "id": 2})[-1]["type"] == "ack"
        assert not state_of(client).sessions.live
        frames = [receive(student) for _ in range(3)]  # the room as it is now
        assert [f["type"] for f in frames] == ["hello", "spectrum", "room_state"]
        forward = drive(teacher, {"type": "step_forward", "id": 3})[0]
        assert receive(student) == forward
        error = until_ack(student, {"type": "leave_fork", "id": 4})[-1]
        assert error["code"] == "bad_phase"


def test_the_teacher_locks_and_unlocks_forking(classroom: tuple[TestClient, Room]) -> None:
    client, room = classroom
    with in_class(client, room, 1) as (teacher, [student]):
        drive(teacher, {"type": "lock_forks", "locked": True, "id": 1})
        state = receive(student)
        assert state == {
            "type": "room_state",
            "code": room["code"],
            "forking": False,
            "spotlight": None,
        }
        error = fork(student)[-1]
        assert error["code"] == "forbidden" and "paused forking" in error["message"]
        late_url = f"/ws/room/{room['code']}"
        with client.websocket_connect(late_url) as late:  # a late joiner is told too
            seat_frames = [receive(late) for _ in range(4)]
            assert seat_frames[-1]["forking"] is False
        drive(teacher, {"type": "lock_forks", "locked": False, "id": 2})
        assert receive(student)["forking"] is True
        assert fork(student)[0]["type"] == "forked"
        refused = until_ack(student, {"type": "lock_forks", "locked": True, "id": 9})[-1]
        assert refused["code"] == "forbidden"


def test_the_class_view_lists_the_forks_and_downloads_as_csv(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    with in_class(client, room, 2) as (teacher, [ada, bob]):
        ada_id = fork(ada, "Ada")[0]["fork_id"]
        bob_id = fork(bob)[0]["fork_id"]
        until_ack(ada, {"type": "set_hyper", "learning_rate": 0.5, "id": 2})
        until_ack(ada, {"type": "finish_iteration", "id": 3})

        def listed(frame: Any) -> bool:
            rows = {row["fork_id"]: row for row in frame.get("rows", [])}
            return frame["type"] == "class" and rows.get(ada_id, {}).get("iteration") == 1

        rows = {row["fork_id"]: row for row in until_frame(teacher, listed)["rows"]}
        assert set(rows) == {ada_id, bob_id}
        assert rows[ada_id]["name"] == "Ada" and rows[bob_id]["name"] == "Student 2"
        assert rows[ada_id]["learning_rate"] == 0.5 and rows[ada_id]["changed"] == ["learning_rate"]
        assert rows[ada_id]["gradient"] in ("healthy", "vanishing")  # measured
        assert rows[bob_id]["gradient"] == "unknown" and rows[bob_id]["iteration"] == 0
        assert rows[ada_id]["loss"] is not None and rows[ada_id]["spectral_radius"] > 0
        csv = [
            f for f in drive(teacher, {"type": "class_csv", "id": 4}) if f["type"] == "class_csv"
        ]
        assert csv[0]["filename"] == f"room-{room['code']}-class.csv"
        lines = csv[0]["csv"].splitlines()
        assert lines[0].startswith("fork_id,name,connected,cell") and len(lines) == 3
        bob.close()  # Bob goes away: his row says so (his fork is parked)
        away = until_frame(
            teacher,
            lambda f: f["type"] == "class" and not all(row["connected"] for row in f["rows"]),
        )
        assert [row["connected"] for row in away["rows"]] == [True, False]


def test_the_spotlight_shows_a_students_run_to_everyone_and_goes_back(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    with in_class(client, room, 2) as (teacher, [ada, watcher]):
        drive(teacher, {"type": "step_forward", "id": 1})
        assert receive(watcher)["type"] == "forward"
        ada_id = fork(ada, "Ada")[0]["fork_id"]
        until_ack(ada, {"type": "configure", "config": {"hidden_size": 6}, "id": 2})
        ada_step = until_ack(ada, {"type": "step_forward", "id": 3})[0]
        until_frame(teacher, lambda f: f["type"] == "class" and f["rows"])
        drive(teacher, {"type": "spotlight", "fork_id": ada_id, "id": 4})
        shown = until_frame(watcher, lambda f: f["type"] == "hello")
        assert shown["config"]["hidden_size"] == 6
        assert receive(watcher)["type"] == "spectrum"
        assert receive(watcher) == ada_step
        state = receive(watcher)
        assert state["spotlight"] == {"fork_id": ada_id, "name": "Ada"}
        # The teacher's commands drive the copy; Ada's own fork is untouched.
        copy_step = drive(teacher, {"type": "step_forward", "id": 5})[0]
        assert receive(watcher) == copy_step and copy_step["t"] == 1
        assert until_ack(ada, {"type": "step_forward", "id": 6})[0] == copy_step
        # Back to the teacher's run, as it was.
        drive(teacher, {"type": "spotlight", "fork_id": None, "id": 7})
        back = until_frame(watcher, lambda f: f["type"] == "hello")
        assert back["config"]["hidden_size"] == 3
        frames = [receive(watcher) for _ in range(2)]
        assert [f["type"] for f in frames] == ["spectrum", "forward"] and frames[1]["t"] == 0
        assert receive(watcher)["spotlight"] is None
        missing = until_ack(teacher, {"type": "spotlight", "fork_id": "nobody", "id": 8})[-1]
        assert (missing["code"], missing["field"]) == ("not_found", "fork_id")


def test_a_teacher_who_reloads_gets_the_room_back_with_the_same_token(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as student:
        seat(student)
        with client.websocket_connect(url) as teacher:
            seat(teacher)
            teach(teacher, room)
            drive(teacher, {"type": "step_forward", "id": 1})
        with client.websocket_connect(url) as reloaded:
            seat(reloaded)
            assert receive(reloaded)["t"] == 0  # the room as it is: the step taken
            assert teach(reloaded, room)["students"] == 1
            assert drive(reloaded, {"type": "step_forward", "id": 2})[0]["t"] == 1
