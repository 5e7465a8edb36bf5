"""Helpers for talking to /ws in tests: every frame received is validated by the protocol."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.testclient import WebSocketTestSession

from app import protocol as p
from app.session import Session
from app.web.sessions import limits_from
from app.web.settings import Settings


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


# A valid message of every command type, but its id ("import" is filled in by example()).
EXAMPLES: dict[str, dict[str, Any]] = {
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
    "rescale": {"spectral_radius": 1.2},
    "diagnose": {},
    "use_text": {"text": "the quick brown fox jumps over the lazy dog. " * 3},
    "export": {},
    "import": {},
    "use_upload": {"upload_id": "an-upload-id"},
    "export_script": {"iterations": 3, "start": "now"},
    "join": {"token": "not the token"},
    "fork": {"nickname": "Ada"},
    "resume_fork": {"fork_id": "f-unknown", "secret": "wrong"},
    "leave_fork": {},
    "spotlight": {"fork_id": None},
    "lock_forks": {"locked": True},
    "class_csv": {},
    "end_room": {},
}


def example(command: str) -> dict[str, Any]:
    """A valid message of this type."""
    if command == "import":
        session = Session(p.RunConfig(), limits_from(Settings()))
        return {"type": command, "state": orjson.loads(p.encode(session.export()))["state"]}
    return {"type": command, **EXAMPLES[command]}
