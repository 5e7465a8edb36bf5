"""Classroom rooms: students watch the teacher's run live; slow students are coalesced."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from app import protocol as p
from app.web.broker import RoomMessage, local_broker
from app.web.connection import LiveConnection
from app.web.outbox import Outbox
from app.web.rooms.registry import Rooms
from app.web.rooms.snapshot import Snapshot
from app.web.settings import Settings
from tests.conftest import LiveServer, run_async
from tests.web.hostutil import registry
from tests.web.rawws import RawClient, StalledSocket
from tests.web.roomutil import Room, drive, seat, teach
from tests.web.wsutil import decode, receive

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
        hosted = app.state.rooms.owned[room["code"]].driver.hosted
        before = hosted.requests
        monkeypatch.setattr(p, "encode", counting)
        shown = drive(teacher, {"type": "advance", "id": 1})[0]
        seen = [student.receive_text() for student in students]
        for student in students:
            student.__exit__(None, None, None)
    assert hosted.requests - before == 1  # one step of the engine for six viewers
    assert encoded.count("forward") == 0  # encoded once, by the worker, not per viewer
    assert len(set(seen)) == 1 and decode(seen[0]) == shown and shown["type"] == "forward"


# ---------------------------------------------------------------- slow students


def test_a_lagging_viewer_skips_to_the_current_state() -> None:
    snapshot = Snapshot()

    def frame(seq: int, kind: str) -> RoomMessage:
        return RoomMessage(seq, kind, f"{kind}-{seq}")

    async def scenario() -> list[str | None]:
        box = Outbox(capacity=3, byte_cap=2**20)
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
        "update-7",  # the training chart's points: updates and progress, in order
        "progress-11",
        "sample-12",
        "sequence-8",
        "forward-10",
    ]
    again = Snapshot.unpack(snapshot.pack())
    assert again.frames() == snapshot.frames() and again.seq == 12
    # Of the replays (training), the latest, where it came among the steps.
    for seq, kind in enumerate(["replay", "forward", "replay", "backward"], 13):
        snapshot.apply(RoomMessage(seq, kind, f"{kind}-{seq}"))
    assert snapshot.frames()[-5:] == [
        "sequence-8",
        "forward-10",
        "forward-14",
        "replay-15",
        "backward-16",
    ]
    assert Snapshot.unpack(snapshot.pack()).frames() == snapshot.frames()
    snapshot.apply(RoomMessage(17, "sequence", "sequence-17"))
    assert snapshot.frames()[-1] == "sequence-17" and snapshot.replay is None
    snapshot.apply(RoomMessage(18, "room_state", "room_state-18"))
    snapshot.apply(RoomMessage(19, "hello", "hello-19"))
    assert snapshot.frames() == ["hello-19", "room_state-18"]  # the room's state outlives a run


def test_knobs_turned_mid_run_reach_every_viewer_and_the_late_joiners_hello(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as teacher, client.websocket_connect(url) as student:
        seat(teacher)
        teach(teacher, room)
        seat(student)
        frames = drive(teacher, {"type": "set_hyper", "learning_rate": 0.25, "id": 1})
        assert [f["type"] for f in frames] == ["hyper", "ack"]
        hyper = receive(student)
        assert hyper == frames[0] and hyper["config"]["learning_rate"] == 0.25
        with client.websocket_connect(url) as late:
            hello, _ = seat(late)
            assert hello["config"] == hyper["config"]


def test_a_stalled_student_is_coalesced_and_catches_up_on_the_current_state() -> None:
    settings = Settings(send_queue_frames=8, max_commands_per_second=1000)

    async def scenario() -> tuple[StalledSocket, Any]:
        async with registry(settings) as sessions:
            return await coalesced(Rooms(settings, sessions, local_broker()))

    async def coalesced(rooms: Rooms) -> tuple[StalledSocket, Any]:
        room = await rooms.create()
        socket = StalledSocket([])
        socket.url = "ws://testserver/ws/room/CODE"  # type: ignore[attr-defined]
        student = LiveConnection(socket, settings)  # type: ignore[arg-type]
        student.seat = await rooms.seat(room.code, student.client)
        assert student.seat is not None
        serving = asyncio.create_task(student.run())
        await room.run(p.Play(type="play", steps_per_second=120))
        await asyncio.sleep(0.5)  # about 60 frames, none read
        assert student.client.dropped > 0
        assert student.client.queued <= 1 + settings.send_queue_frames  # + the room frame
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
    origin = {"Origin": live_server.http}  # rooms are created from the server's own pages
    request = urllib.request.Request(live_server.http + "/api/rooms", method="POST", headers=origin)
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
            students = [s for relay in app.state.rooms.relays.values() for s in relay.students]
            assert len(students) == 2
            cap = app.state.settings.send_queue_frames
            assert all(s.queued <= cap + 2 * 50 + 8 for s in students)  # bounded
        assert seen > 50
        assert sorted(round_trips)[len(round_trips) // 2] < 0.05
    finally:
        stalled.close()


def test_a_late_student_after_training_gets_the_curve_and_the_replay(
    classroom: tuple[TestClient, Room],
) -> None:
    client, room = classroom
    url = f"/ws/room/{room['code']}"
    with client.websocket_connect(url) as teacher:
        seat(teacher)
        teach(teacher, room)
        drive(teacher, {"type": "train", "iterations": 20, "id": 1})
        while receive(teacher)["type"] != "replay":  # training ends with sequence, spectrum, replay
            pass
        with client.websocket_connect(url) as late:
            assert receive(late)["type"] == "room"
            assert [receive(late)["type"] for _ in range(2)] == ["hello", "spectrum"]
            points = []  # the training chart's points
            while (kind := receive(late)["type"]) != "room_state":
                points.append(kind)
            assert points and set(points) == {"progress"}
            assert [receive(late)["type"] for _ in range(2)] == ["sequence", "replay"]
