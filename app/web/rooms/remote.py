"""A teacher seated at a process that does not drive the room: no sticky routing needed.

Its `join` is checked by the room's owner (over the broker); it then watches the room through
this process's relay (with the teachers' own frames: the student count and the class view), and
its commands are forwarded to the owner, answered with the owner's reply or refusal.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from app.session import CommandRefused
from app.web.broker import BROKER_ERRORS
from app.web.client import Client
from app.web.rooms.notices import teacher_frame
from app.web.rooms.relay import Relay
from app.web.workers.messages import SealedImport

if TYPE_CHECKING:
    from app.web.driver import Command
    from app.web.rooms.registry import Rooms


class RemoteTeacher:
    """A teacher's seat at a process other than the room's owner."""

    def __init__(self, rooms: Rooms, code: str, token: str, relay: Relay) -> None:
        self.rooms = rooms
        self.code = code
        self.token = token
        self.relay = relay

    @classmethod
    async def join(
        cls, rooms: Rooms, code: str, token: str, relay: Relay, client: Client
    ) -> RemoteTeacher:
        """Check the token with the owner; seat the client as a teacher of the relay."""
        answer = await _ask(rooms, code, {"op": "teach", "token": token})
        frame = partial(teacher_frame, client.url, rooms.settings, code)
        relay.add_teacher(client, frame)
        client.deliver(frame(int(answer["students"])))
        client.deliver(str(answer["class"]))
        return cls(rooms, code, token, relay)

    async def forward(self, command: Command) -> str | None:
        """Run a teacher's command at the owner; its reply (for the sender alone), if any."""
        if isinstance(command, SealedImport):
            raw = command.raw if isinstance(command.raw, str) else command.raw.decode()
        else:
            raw = command.model_dump_json()
        request = {"op": "command", "token": self.token, "command": raw}
        answer = await _ask(self.rooms, self.code, request)
        reply = answer.get("reply")
        return None if reply is None else str(reply)

    def leave(self, client: Client) -> None:
        """The teacher's connection closed."""
        self.relay.remove_teacher(client)


async def _ask(rooms: Rooms, code: str, request: dict[str, Any]) -> dict[str, Any]:
    """A request to the room's owner; its refusal raised as the owner's CommandRefused."""
    try:
        raw = await rooms.broker.owners.request(code, orjson.dumps(request))
    except BROKER_ERRORS as exc:
        message = f"cannot reach the server process driving room {code}: {exc}"
        raise CommandRefused("server_busy", message) from exc
    answer: dict[str, Any] = orjson.loads(raw)
    refused = answer.get("refused")
    if refused is not None:
        raise CommandRefused(str(refused["code"]), str(refused["message"]), refused.get("field"))
    return answer
