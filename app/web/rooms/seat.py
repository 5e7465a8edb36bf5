"""A connection's place in a room: what its commands may do there."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import orjson

from app import protocol as p
from app.session import CommandRefused
from app.web.broker import BROKER_ERRORS
from app.web.client import Client
from app.web.rooms.relay import Relay
from app.web.rooms.room import Room

if TYPE_CHECKING:
    from app.web.connection import LiveConnection
    from app.web.driver import Command
    from app.web.rooms.registry import Rooms

FORK_OP = orjson.dumps({"op": "fork"})


class Seat:
    """A student watches (from its relay) and may fork; a teacher (with the token) drives.

    The connection passes itself to each call, so the seat holds no reference back to it.
    """

    def __init__(self, rooms: Rooms, code: str, relay: Relay) -> None:
        self.rooms = rooms
        self.code = code
        self.relay: Relay | None = relay
        self.room: Room | None = None  # set once the connection is the room's teacher

    @property
    def ended(self) -> bool:
        """Whether the room is over (its room_closed frame is on its way to this seat)."""
        if self.room is not None:
            return self.room.ended
        return self.relay is None or self.relay.closed

    async def handle(self, command: Command, connection: LiveConnection) -> str | None:
        """Students may fork (or join with the token); only the teacher drives the room."""
        if self.ended:
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        match command:
            case p.Join(token=token):
                self._join(token, connection.client)
                return None
            case p.Fork():
                await self._fork(connection)
                return None
        if self.room is None:
            message = (
                f"only the teacher can change room {self.code}; fork it to get a copy of your own"
            )
            raise CommandRefused("forbidden", message)
        if isinstance(command, p.EndRoom):
            await self.room.end("ended")
            return None
        return await self.room.run(command)

    async def leave(self, client: Client) -> None:
        """The connection closed."""
        self._leave_relay(client)
        if self.room is not None:
            self.room.remove_teacher(client)

    def _leave_relay(self, client: Client) -> None:
        if self.relay is not None:
            self.relay.remove(client)
            self.relay = None

    def _join(self, token: str, client: Client) -> None:
        room = self.rooms.owned.get(self.code)
        if room is None:
            message = (
                f"room {self.code} is driven by the server process that created it; "
                "connect to that one to teach"
            )
            raise CommandRefused("forbidden", message, "token")
        if not hmac.compare_digest(token.encode(), room.token.encode()):
            raise CommandRefused("forbidden", f"wrong control token for room {self.code}", "token")
        if self.room is room:
            return
        self._leave_relay(client)
        self.room = room
        room.add_teacher(client)
        client.deliver(room.room_frame(client))

    async def _fork(self, connection: LiveConnection) -> None:
        if self.room is not None:
            raise CommandRefused("bad_phase", "the teacher drives the room; only students fork")
        registry = self.rooms.sessions
        if registry.full:
            message = f"the server is full ({registry.capacity} sessions); try again soon"
            raise CommandRefused("server_busy", message)
        try:
            exported = await self.rooms.broker.owners.request(self.code, FORK_OP)
        except BROKER_ERRORS as exc:
            raise CommandRefused("bad_phase", f"cannot fork room {self.code}: {exc}") from exc
        steps, _, state = exported.partition(b"\n")
        hosted = await registry.workers.open(state)  # parsed and checked in a worker
        if self.ended or not registry.try_add(connection.client):
            await hosted.close()
            if self.ended:  # the room ended while the copy was made: its close is on its way
                raise CommandRefused("bad_phase", f"room {self.code} is over")
            raise CommandRefused("server_busy", "the server filled up meanwhile; try again soon")
        self._leave_relay(connection.client)
        await connection.drive(hosted, orjson.loads(steps))
