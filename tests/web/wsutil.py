"""Helpers for talking to /ws in tests: every frame received is validated by the protocol."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.testclient import WebSocketTestSession

from app import protocol as p


def decode(text: str | bytes) -> Any:
    """Decode one frame and check it against the protocol models."""
    frame = orjson.loads(text)
    p.frame_adapter.validate_python(frame)
    return frame


def receive(ws: WebSocketTestSession) -> Any:
    return decode(ws.receive_text())


def until_ack(ws: WebSocketTestSession, command: dict[str, Any]) -> list[Any]:
    """Send a command and collect every frame up to its ack (or its error)."""
    ws.send_text(orjson.dumps(command).decode())
    frames = []
    while True:
        frame = receive(ws)
        frames.append(frame)
        if frame["type"] in ("ack", "error") and frame.get("command_id") == command.get("id"):
            return frames


def greet(ws: WebSocketTestSession) -> Any:
    """Read the frames every connection starts with (hello, then the spectrum); return hello."""
    hello = receive(ws)
    assert hello["type"] == "hello"
    assert receive(ws)["type"] == "spectrum"
    return hello
