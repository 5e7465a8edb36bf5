"""The live websocket, through Starlette's TestClient and over a real socket to uvicorn."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from websockets.sync.client import connect

from app import protocol as p
from tests.conftest import LiveServer
from tests.web.wsutil import decode, greet, until_ack

FORWARD_FIELDS = {"t", "input_token", "h", "y", "loss"}


def test_hello_then_one_forward_frame_per_time_step(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello = greet(ws)
        assert hello["type"] == "hello"
        assert hello["protocol_version"] == p.PROTOCOL_VERSION
        assert hello["tokens"] == ["h", "e", "l", "l"]
        hidden = hello["config"]["hidden_size"]
        for t in range(hello["seq_len"]):
            frames = until_ack(ws, {"type": "step_forward", "id": t})
            assert [f["type"] for f in frames] == ["forward", "ack"]
            forward = frames[0]
            assert forward.keys() >= FORWARD_FIELDS
            assert forward["t"] == t
            assert forward["input_token"] == hello["tokens"][t]
            assert len(forward["h"]) == hidden
            assert len(forward["y"]) == len(hello["vocab"])
            assert abs(sum(forward["y"]) - 1) < 1e-5
            assert forward["loss"] > 0


def test_a_whole_iteration_walks_back_and_updates(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello = greet(ws)
        frames = until_ack(ws, {"type": "finish_iteration", "id": 1})
        kinds = [f["type"] for f in frames]
        T = hello["seq_len"]
        assert kinds == ["forward"] * T + ["backward"] * T + [
            "update",
            "sequence",
            "spectrum",
            "ack",
        ]
        assert [f["t"] for f in frames if f["type"] == "backward"] == list(range(T - 1, -1, -1))
        update = frames[2 * T]
        assert update["finite"] is True
        assert update["iteration"] == 0
        assert frames[2 * T + 1]["iteration"] == 1


def test_configure_changes_the_hidden_size(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        hello = greet(ws)
        config = {**hello["config"], "hidden_size": 7}
        frames = until_ack(ws, {"type": "configure", "id": 1, "config": config})
        assert [f["type"] for f in frames] == ["hello", "spectrum", "ack"]
        assert frames[0]["config"]["hidden_size"] == 7
        forward = until_ack(ws, {"type": "step_forward", "id": 2})[0]
        assert len(forward["h"]) == 7


def test_real_socket_streams_forward_steps(live_server: LiveServer) -> None:
    # The sync client: Playwright's sync API may own this thread's event loop.
    with connect(live_server.ws) as ws:
        hello = decode(ws.recv())
        assert decode(ws.recv())["type"] == "spectrum"
        frames = []
        for t in range(hello["seq_len"]):
            ws.send(orjson.dumps({"type": "step_forward", "id": t}).decode())
            frames.append(decode(ws.recv()))
            assert decode(ws.recv())["type"] == "ack"
    assert [f["t"] for f in frames] == [0, 1, 2, 3]
    assert all(f.keys() >= FORWARD_FIELDS for f in frames)


def test_lab_commands_rescale_and_diagnose(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        frames = until_ack(ws, {"type": "rescale", "spectral_radius": 1.5, "id": 1})
        assert [f["type"] for f in frames] == ["sequence", "spectrum", "ack"]
        assert abs(frames[1]["spectral_radius"] - 1.5) < 1e-5
        diagnostics = until_ack(ws, {"type": "diagnose", "id": 2})[0]
        assert diagnostics["type"] == "diagnostics"
        assert len(diagnostics["flow"]) == diagnostics["seq_len"]


def test_pasted_text_over_the_socket(client: TestClient) -> None:
    with client.websocket_connect("/ws") as ws:
        greet(ws)
        text = "the quick brown fox jumps over the lazy dog. " * 3
        frames = until_ack(ws, {"type": "use_text", "text": text, "id": 1})
        assert frames[0]["type"] == "hello" and frames[0]["config"]["task"] == "pasted"
        error = until_ack(ws, {"type": "use_text", "text": "x", "id": 2})[-1]
        assert error["type"] == "error" and error["field"] == "text"
