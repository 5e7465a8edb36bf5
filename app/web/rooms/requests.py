"""What other processes ask of a room's owner: notes (presence, class rows) and requests (the
snapshot, a fork's copy, a remote teacher's seat and commands)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

import orjson

from app import protocol as p
from app.session import CommandRefused
from app.web.connection import parse

if TYPE_CHECKING:
    from app.web.rooms.room import Room

LOCKED = "the teacher has paused forking; wait until it is allowed again"


def on_note(room: Room, body: bytes) -> None:
    """A relay reports how many students (and teachers) it holds; a fork reports its row."""
    note = orjson.loads(body)
    op = note.get("op")
    if op == "presence":
        heard = room.loop.time()
        room.presence[str(note["relay"])] = (
            int(note["students"]),
            int(note.get("teachers", 0)),
            heard,
        )
        room.count_changed()
    elif op == "class_row":
        room.classview.update(note.get("row"))


async def on_request(room: Room, body: bytes) -> bytes:
    """A relay asks for the snapshot; a student's process for a fork; a teacher's (at another
    process) for a seat or to run a command."""
    request = orjson.loads(body)
    op = request.get("op")
    if op == "snapshot":
        return room.snapshot.pack()
    if op == "fork":
        return await _fork(room)
    if op == "teach":
        return orjson.dumps(_teach(room, str(request.get("token", ""))))
    if op == "command":
        return orjson.dumps(await _command(room, request))
    raise ValueError(f"unknown request {op!r}")


async def _fork(room: Room) -> bytes:
    """A header line (the fork's number, or why it is refused), then the room's export."""
    if not room.forking:
        return orjson.dumps({"refused": LOCKED})
    room.forks_made += 1
    return orjson.dumps({"number": room.forks_made}) + b"\n" + await room.export()


def _refusal(refused: CommandRefused) -> dict[str, Any]:
    return {"refused": {"code": refused.code, "message": refused.message, "field": refused.field}}


def _authorised(room: Room, token: str) -> CommandRefused | None:
    if hmac.compare_digest(token.encode(), room.token.encode()):
        return None
    return CommandRefused("forbidden", f"wrong control token for room {room.code}", "token")


def _teach(room: Room, token: str) -> dict[str, Any]:
    """A teacher at another process showed the token: what its page needs first."""
    refused = _authorised(room, token)
    if refused is not None:
        return _refusal(refused)
    room.touch()
    return {"students": room.students, "class": p.encode(room.classview.frame()).decode()}


async def _command(room: Room, request: dict[str, Any]) -> dict[str, Any]:
    """A teacher's command, forwarded by the process its connection is at."""
    refused = _authorised(room, str(request.get("token", "")))
    if refused is not None:
        return _refusal(refused)
    command = parse(str(request.get("command", "")), room.rooms.settings)
    if isinstance(command, p.Error):
        return {
            "refused": {"code": command.code, "message": command.message, "field": command.field}
        }
    try:
        return {"reply": await room.command(command)}
    except CommandRefused as exc:
        return _refusal(exc)
