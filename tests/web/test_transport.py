"""Transport: bounded queues, slow clients, limits, origins, background jobs, disconnects."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import connect

from app import protocol as p
from app.web.connection import LiveConnection, RateLimiter
from app.web.main import create_app
from app.web.outbox import ClientNotReading, Outbox
from app.web.settings import Settings
from app.web.workers.hosted import Hosted
from tests.conftest import LiveServer, run_async
from tests.web.hostutil import running_workers, small
from tests.web.rawws import RawClient, StalledSocket
from tests.web.wsutil import decode, greet, receive, until_ack


def send(ws: Any, message: dict[str, Any]) -> None:
    ws.send_text(orjson.dumps(message).decode())


# ---------------------------------------------------------------- the outbox and the rate limiter


def test_outbox_drops_oldest_animation_frames_but_never_replies() -> None:
    async def scenario() -> list[str]:
        box = Outbox(capacity=3, byte_cap=2**20)
        box.put("reply-1", droppable=False)
        for i in range(10):
            box.put(f"anim-{i}", droppable=True)
        box.put("reply-2", droppable=False)
        assert box.dropped == 7
        return [await box.get() for _ in range(len(box))]

    assert run_async(scenario()) == ["reply-1", "anim-7", "anim-8", "anim-9", "reply-2"]


def test_outbox_gives_up_on_a_client_that_never_reads_its_replies() -> None:
    async def scenario() -> None:
        box = Outbox(capacity=3, byte_cap=25)
        for _ in range(5):
            box.put("reply", droppable=False)
        with pytest.raises(ClientNotReading):
            box.put("reply", droppable=False)

    run_async(scenario())


def test_rate_limiter_allows_a_burst_then_the_sustained_rate() -> None:
    limiter = RateLimiter(rate=10, burst=5)
    assert sum(limiter.allow() for _ in range(20)) == 5
    time.sleep(0.25)
    assert 1 <= sum(limiter.allow() for _ in range(20)) <= 4


def test_a_stalled_client_gets_bounded_animation_and_every_reply() -> None:
    settings = Settings(send_queue_frames=8, max_commands_per_second=1000)

    async def scenario() -> tuple[LiveConnection, StalledSocket]:
        socket = StalledSocket([{"type": "play", "steps_per_second": 120, "id": 1}])
        async with running_workers(settings) as workers:
            connection = LiveConnection(socket, settings, await workers.open())  # type: ignore[arg-type]
            serving = asyncio.create_task(connection.run())
            await asyncio.sleep(0.5)  # about 60 animation frames produced, none read
            assert connection.client.dropped > 0
            assert (
                connection.client.queued <= settings.send_queue_frames + 4
            )  # + hello, spectrum, ack
            pause = {"type": "websocket.receive", "text": '{"type":"pause","id":2}'}
            await socket.incoming.put(pause)
            await asyncio.sleep(0.05)
            socket.reading.set()  # the client reads again
            await asyncio.sleep(0.1)
            await socket.incoming.put({"type": "websocket.disconnect", "code": 1000})
            await asyncio.wait_for(serving, 5)
        return connection, socket

    _, socket = run_async(scenario())
    kinds = [frame["type"] for frame in socket.sent]
    assert kinds[:2] == ["hello", "spectrum"]
    acks = [frame["command_id"] for frame in socket.sent if frame["type"] == "ack"]
    assert acks == [1, 2]  # replies are never dropped
    for frame in socket.sent:
        p.frame_adapter.validate_python(frame)


# ---------------------------------------------------------------- refusals keep the session alive


def test_malformed_commands_get_typed_errors_and_the_session_goes_on(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        for raw, code, field in [
            ("not json", "invalid_json", None),
            ('{"type": "teleport", "id": 1}', "unknown_type", "type"),
            ('{"type": "train", "iterations": -1, "id": 2}', "out_of_range", "iterations"),
            ('{"type": "configure", "config": {"hidden_size": "big"}}', "invalid_message", None),
            ('{"type": "step_backward", "id": 3}', "bad_phase", None),
        ]:
            ws.send_text(raw)
            error = receive(ws)
            assert error["type"] == "error" and error["code"] == code
            if field:
                assert error["field"] == field
        error_field = None
        send(ws, {"type": "configure", "config": {"hidden_size": 100000}, "id": 4})
        error_field = receive(ws)["field"]
        assert error_field == "config.hidden_size"
        forward = until_ack(ws, {"type": "step_forward", "id": 5})[0]
        assert forward["type"] == "forward" and forward["t"] == 0


def test_too_large_message_is_refused_and_the_session_goes_on(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        send(ws, {"type": "sample", "prime": "h", "id": 1, "pad": "x" * 70_000})
        error = receive(ws)
        assert error["code"] == "too_large"
        assert until_ack(ws, {"type": "step_forward", "id": 2})[0]["type"] == "forward"


def test_train_beyond_the_cap_names_the_field(client: TestClient, settings: Settings) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        cap = settings.max_train_iterations
        error = until_ack(ws, {"type": "train", "iterations": cap + 1, "id": 1})[-1]
        assert error["type"] == "error" and error["field"] == "iterations"


def test_commands_beyond_the_rate_are_refused() -> None:
    app = create_app(small(Settings(max_commands_per_second=2)))
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        greet(ws)
        for i in range(8):
            send(ws, {"type": "pause", "id": i})
        replies = [receive(ws) for _ in range(8)]
        codes = [r.get("code") for r in replies if r["type"] == "error"]
        assert codes and set(codes) == {"rate_limited"}
        assert any(r["type"] == "ack" for r in replies)


def test_foreign_origin_is_refused_at_the_handshake(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:  # noqa: SIM117
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
            pass
    assert refused.value.code == 1008


def test_same_origin_and_configured_origins_are_accepted() -> None:
    app = create_app(small(Settings(allowed_origins="https://course.example.org")))
    with TestClient(app) as client:
        for origin in ("http://testserver", "https://course.example.org"):
            with client.websocket_connect("/ws", headers={"origin": origin}) as ws:
                assert greet(ws)["type"] == "hello"


def test_a_full_server_says_so_and_closes() -> None:
    app = create_app(small(Settings(max_sessions=1)))
    with TestClient(app) as client, client.websocket_connect("/ws") as first:
        greet(first)
        with client.websocket_connect("/ws") as second:
            error = receive(second)
            assert error["code"] == "server_busy"
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_text()
            assert closed.value.code == 1013


# ---------------------------------------------------------------- background jobs


def test_train_streams_progress_and_pause_stops_it_at_once(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        assert until_ack(ws, {"type": "train", "iterations": 50, "id": 1})[-1]["type"] == "ack"
        frames = [receive(ws)]
        while frames[-1]["type"] != "spectrum" or frames[-2]["type"] != "sequence":
            frames.append(receive(ws))
        progress = [f for f in frames if f["type"] == "progress"]
        assert progress[-1]["iteration"] == 50
        # A long run, paused mid-way: the pause's ack comes within a training chunk or two.
        until_ack(ws, {"type": "train", "iterations": 5000, "id": 2})
        started = time.monotonic()
        replies = until_ack(ws, {"type": "pause", "id": 3})
        assert time.monotonic() - started < 1.0
        last = [f for f in replies if f["type"] == "progress"]
        assert not last or last[-1]["iteration"] < 50 + 5000


def test_play_advances_on_its_own_until_paused(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        until_ack(ws, {"type": "play", "steps_per_second": 100, "id": 1})
        frames = [receive(ws) for _ in range(12)]
        assert [f["type"] for f in frames[:4]] == ["forward"] * 4
        assert [f["type"] for f in frames[4:8]] == ["backward"] * 4
        assert frames[8]["type"] == "update"
        until_ack(ws, {"type": "pause", "id": 2})
        frame = until_ack(ws, {"type": "step_forward", "id": 3})[0]
        assert frame["type"] in ("forward", "error")  # the cursor stayed where play left it


def test_set_hyper_during_training_applies_without_reset(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        until_ack(ws, {"type": "train", "iterations": 2000, "id": 1})
        until_ack(ws, {"type": "set_hyper", "learning_rate": 0.01, "clip_mode": "norm", "id": 2})
        replies = until_ack(ws, {"type": "export", "id": 3})
        state = next(f for f in replies if f["type"] == "export")["state"]
        assert state["config"]["learning_rate"] == 0.01
        assert state["config"]["clip_mode"] == "norm"
        assert state["iteration"] > 0  # training went on, no reset
        until_ack(ws, {"type": "pause", "id": 4})


def test_disconnect_in_the_middle_of_training_frees_the_session(app: FastAPI) -> None:
    with TestClient(app) as client:
        for _ in range(3):
            with client.websocket_connect("/ws") as ws:
                greet(ws)
                send(ws, {"type": "train", "iterations": 5000, "id": 1})
                receive(ws)
        deadline = time.monotonic() + 5
        while app.state.sessions.live and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not app.state.sessions.live


def test_many_connects_and_disconnects_leak_no_sessions(app: FastAPI) -> None:
    with TestClient(app) as client:
        for _ in range(300):
            with client.websocket_connect("/ws") as ws:
                greet(ws)
        workers = app.state.workers
        deadline = time.monotonic() + 5
        while (app.state.sessions.live or workers.committed) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not app.state.sessions.live
        assert workers.committed == {}  # every session closed in its worker
        assert [link.sessions for link in workers.links] == [0] * len(workers.links)
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, Hosted)]
    assert len(alive) <= 1  # at most one held by a frame of this test


# ---------------------------------------------------------------- over a real socket


def test_a_client_that_stops_reading_does_not_slow_the_others(live_server: LiveServer) -> None:
    stalled = RawClient("127.0.0.1", live_server.port)
    stalled.send_text('{"type": "configure", "config": {"hidden_size": 256}}')
    stalled.send_text('{"type": "play", "steps_per_second": 120}')
    try:
        with connect(live_server.ws) as ws:
            decode(ws.recv())
            decode(ws.recv())
            round_trips = []
            for i in range(60):
                started = time.perf_counter()
                ws.send(orjson.dumps({"type": "advance", "id": i}).decode())
                while decode(ws.recv())["type"] != "ack":
                    pass
                round_trips.append(time.perf_counter() - started)
        # Generous bounds (CI machines are shared); a blocked server would take seconds.
        assert statistics.median(round_trips) < 0.05
        assert max(round_trips) < 0.5
        app = live_server.server.config.app
        cap = app.state.settings.send_queue_frames
        for client in app.state.sessions.live:
            assert client.queued <= cap + 8
    finally:
        stalled.close()
