"""Budgets at the socket: refusals a client sees, a queue bounded in bytes, and what a lost
worker or a busy server tells the page. Every refusal names its field; the session goes on."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.web.client import CLOSE_POLICY
from app.web.connection import LiveConnection
from app.web.settings import Settings
from tests.conftest import run_async
from tests.web.hostutil import running_workers
from tests.web.rawws import StalledSocket
from tests.web.wsutil import greet, receive, until_ack

LARGEST = {"task": "text", "cell": "lstm", "hidden_size": 256, "seq_len": 200, "batch_size": 64}


def test_a_run_over_the_session_budget_is_refused_and_the_session_goes_on(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws") as ws:
        hello = greet(ws)
        assert hello["limits"]["max_embedding_size"] == 256
        error = until_ack(ws, {"type": "configure", "config": LARGEST, "id": 1})[-1]
        assert error["type"] == "error" and error["code"] == "over_budget"
        assert error["field"] == "config.hidden_size" and error["command_id"] == 1
        assert error["message"].startswith("hidden_size: at most ")
        assert "per-session memory budget of 512 MB" in error["message"]
        capped = {"task": "words", "embedding_size": 257}
        error = until_ack(ws, {"type": "configure", "config": capped, "id": 2})[-1]
        assert (error["code"], error["field"]) == ("out_of_range", "config.embedding_size")
        assert until_ack(ws, {"type": "step_forward", "id": 3})[0]["type"] == "forward"


def test_commands_of_one_session_run_in_the_order_sent(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        # A new run (batch work) and a step (interactive) sent together: the step is the new run's.
        ws.send_text(orjson.dumps({"type": "configure", "config": {"hidden_size": 7}}).decode())
        ws.send_text(orjson.dumps({"type": "step_forward", "id": 2}).decode())
        frames = []
        while not frames or frames[-1]["type"] != "forward":
            frames.append(receive(ws))
        assert [f["type"] for f in frames] == ["hello", "spectrum", "ack", "forward"]
        assert frames[0]["config"]["hidden_size"] == 7 and len(frames[-1]["h"]) == 7


def test_an_import_too_large_for_the_loop_is_read_in_a_worker(client: TestClient) -> None:
    config = {"task": "text", "hidden_size": 64, "seq_len": 50, "batch_size": 16}
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        until_ack(ws, {"type": "configure", "config": config, "id": 1})
        state = until_ack(ws, {"type": "export", "id": 2})[0]["state"]
        message = orjson.dumps({"type": "import", "id": 3, "state": state}).decode()
        assert len(message) > 65536  # past max_message_bytes: not parsed on the event loop
        frames = until_ack(ws, orjson.loads(message))
        assert [f["type"] for f in frames] == ["hello", "spectrum", "ack"]
        assert frames[0]["config"]["hidden_size"] == 64
        ws.send_text(message[:-2])
        error = receive(ws)
        assert error["code"] == "invalid_json" and error["command_id"] is None


def test_a_client_that_never_reads_is_closed_once_its_replies_pass_the_byte_cap() -> None:
    settings = Settings(send_queue_bytes=2**16, max_commands_per_second=1000)
    config = {"task": "text", "hidden_size": 64, "seq_len": 50, "batch_size": 16}

    class Closing(StalledSocket):
        def __init__(self, commands: list[dict[str, Any]]) -> None:
            super().__init__(commands)
            self.closed: list[int] = []

        async def close(self, code: int = 1000, reason: str = "") -> None:
            self.closed.append(code)

    async def scenario() -> tuple[list[int], int]:
        socket = Closing([{"type": "configure", "config": config, "id": 1}])
        async with running_workers(settings) as workers:
            connection = LiveConnection(socket, settings, await workers.open())  # type: ignore[arg-type]
            serving = asyncio.create_task(connection.run())
            for i in range(2, 40):  # each export is larger than a quarter of the cap
                await socket.incoming.put(
                    {"type": "websocket.receive", "text": f'{{"type": "export", "id": {i}}}'}
                )
            await asyncio.wait_for(serving, 20)
            return socket.closed, len(socket.incoming._queue)  # type: ignore[attr-defined]

    closed, unread = run_async(scenario())
    assert closed == [CLOSE_POLICY]
    assert unread > 0  # closed before it got through its commands


def test_a_server_out_of_memory_budget_refuses_new_sessions(app: FastAPI) -> None:
    with TestClient(app) as client:
        workers = app.state.workers
        workers.budget = workers.baseline  # nothing left for a session
        with client.websocket_connect("/ws") as ws:
            error = receive(ws)
            assert error["code"] == "server_busy" and "cannot open a session" in error["message"]
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1013


def test_a_session_whose_worker_died_is_closed_and_the_worker_replaced(app: FastAPI) -> None:
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        greet(ws)
        workers = app.state.workers
        (light,) = [link for link in workers.links if not link.heavy]
        os.kill(light.process.pid, signal.SIGKILL)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.send_text('{"type": "advance"}')
                receive(ws)
        assert closed.value.code == 1011  # the page reconnects to a fresh session
        replaced = _until(lambda: len([link for link in workers.links if not link.lost]) == 2)
        assert replaced
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        assert greet(ws)["type"] == "hello"


def _until(condition: Any) -> bool:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
