"""A connection's place in a room: what its commands may do there."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from app import protocol as p
from app.session import CommandRefused
from app.web.client import Client
from app.web.rooms.forks import Fork
from app.web.rooms.relay import Relay
from app.web.rooms.remote import RemoteTeacher
from app.web.rooms.room import Room

if TYPE_CHECKING:
    from app.web.connection import LiveConnection
    from app.web.driver import Command
    from app.web.rooms.registry import Rooms


class Seat:
    """A student watches (from its relay) and may fork; a teacher (with the token) drives.

    The connection passes itself to each call, so the seat holds no reference back to it.
    A teacher is seated at the room (this process owns it) or remotely (its commands go to the
    owner over the broker). A student who forked drives its fork.
    """

    def __init__(self, rooms: Rooms, code: str, relay: Relay) -> None:
        self.rooms = rooms
        self.code = code
        self.relay: Relay | None = relay
        self.room: Room | None = None  # set once the connection is the room's teacher, here
        self.remote: RemoteTeacher | None = None  # ... or its teacher at another process
        self.fork: Fork | None = None  # a student's own copy of the run

    @property
    def ended(self) -> bool:
        """Whether the room is over (its room_closed frame is on its way to this seat)."""
        if self.room is not None:
            return self.room.ended
        return self.relay is None or self.relay.closed

    @property
    def teaching(self) -> bool:
        """Whether the connection showed the token."""
        return self.room is not None or self.remote is not None

    async def handle(self, command: Command, connection: LiveConnection) -> str | None:
        """Students fork (or join with the token); only a teacher drives the room."""
        own = _STUDENT_COMMANDS.get(command.type)
        if own is not None:
            await own(self, command, connection.client)
            return None
        if self.fork is not None and command.type not in p.TEACHER_COMMANDS:
            return await self.fork.run(command)
        if not self.teaching:
            message = (
                f"only the teacher can change room {self.code}; fork it to get a copy of your own"
            )
            raise CommandRefused("forbidden", message)
        if self.ended:
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        if self.room is not None:
            return await self.room.command(command)
        assert self.remote is not None
        return await self.remote.forward(command)

    async def leave(self, client: Client) -> None:
        """The connection closed: a fork is parked for its grace period."""
        self._leave_relay(client)
        if self.room is not None:
            self.room.remove_teacher(client)
        if self.remote is not None:
            self.remote.leave(client)
        if self.fork is not None:
            fork, self.fork = self.fork, None
            await fork.park(client)

    def _leave_relay(self, client: Client) -> None:
        if self.relay is not None:
            self.relay.remove(client)
            self.relay = None

    # ------------------------------------------------------------------ a seat's own commands

    async def _join(self, command: p.Join, client: Client) -> None:
        if self.fork is not None:
            raise CommandRefused("bad_phase", "leave your fork first to teach")
        if self.ended:
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        room = self.rooms.owned.get(self.code)
        if room is None:
            await self._join_remote(command.token, client)
            return
        if not hmac.compare_digest(command.token.encode(), room.token.encode()):
            raise CommandRefused("forbidden", f"wrong control token for room {self.code}", "token")
        if self.room is room:
            return
        self._leave_relay(client)
        self.room = room
        room.add_teacher(client)

    async def _join_remote(self, token: str, client: Client) -> None:
        """The room is driven by another process: it checks the token, then forwards."""
        if self.remote is not None:
            return
        assert self.relay is not None
        self.remote = await RemoteTeacher.join(self.rooms, self.code, token, self.relay, client)

    async def _fork(self, command: p.Fork, client: Client) -> None:
        if self.teaching:
            raise CommandRefused("bad_phase", "the teacher drives the room; only students fork")
        if self.fork is not None:
            raise CommandRefused("bad_phase", "you have a fork already (leave_fork first)")
        if self.ended:
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        fork, steps = await self.rooms.forks.create(self.code, command.nickname)
        self._leave_relay(client)
        self.fork = fork
        fork.attach(client, resumed=False)
        await fork.driver.greet()
        fork.sink.show(steps)  # the fork's iteration so far, as the room showed it

    async def _resume_fork(self, command: p.ResumeFork, client: Client) -> None:
        if self.teaching:
            raise CommandRefused("bad_phase", "a teacher has no fork to resume")
        if self.fork is not None and self.fork.fork_id != command.fork_id:
            raise CommandRefused("bad_phase", "you have another fork (leave_fork first)")
        fork = await self.rooms.forks.resume(self.code, command.fork_id, command.secret)
        self._leave_relay(client)
        self.fork = fork
        fork.attach(client, resumed=True)

    async def _leave_fork(self, command: p.LeaveFork, client: Client) -> None:
        if self.fork is None:
            raise CommandRefused("bad_phase", "you have no fork to leave")
        fork, self.fork = self.fork, None
        await fork.free()
        client.drop_animation()
        relay = await self.rooms.follow(self.code)
        if relay is None:
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        self.relay = relay
        relay.add(client)


Handler = Callable[[Seat, Any, Client], Awaitable[None]]
_STUDENT_COMMANDS: dict[str, Handler] = {
    "join": Seat._join,
    "fork": Seat._fork,
    "resume_fork": Seat._resume_fork,
    "leave_fork": Seat._leave_fork,
}
