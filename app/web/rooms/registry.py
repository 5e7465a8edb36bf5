"""The rooms of one server process: those it owns, and those it relays to its students."""

from __future__ import annotations

import asyncio
import secrets

from app import protocol as p
from app.web.broker import Broker
from app.web.client import Client
from app.web.rooms.forking import Forks
from app.web.rooms.notices import closed_data, join_info
from app.web.rooms.relay import Relay
from app.web.rooms.room import DIRECTORY_REFRESH_SECONDS, Room
from app.web.rooms.seat import Seat
from app.web.sessions import SessionRegistry
from app.web.settings import Settings

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector
CODE_LENGTH = 6
CODE_PATTERN = r"^[A-Za-z0-9]{4,12}$"
DRAIN_SECONDS = 0.5  # at shutdown, for the viewers' last frames to leave, at most
RENEW_TRIES, RENEW_SECONDS = 20, 0.25  # after Redis is back: its first answers may be errors


class RoomsFull(Exception):
    """This process drives as many rooms as its settings allow."""


class Rooms:
    """The rooms this process owns and the rooms it relays to its students."""

    def __init__(self, settings: Settings, sessions: SessionRegistry, broker: Broker) -> None:
        self.settings = settings
        self.sessions = sessions
        self.broker = broker
        self.owned: dict[str, Room] = {}
        self.relays: dict[str, Relay] = {}
        self.forks = Forks(self)

    @property
    def directory_ttl(self) -> float:
        """How long a room's directory entry outlives its owner's last refresh."""
        return 3 * DIRECTORY_REFRESH_SECONDS

    async def start(self) -> None:
        """Connect the broker; when it reconnects after a loss, recover."""
        self.broker.link.on_reconnect(self._recover)
        await self.broker.start()

    async def _recover(self) -> None:
        """Redis is back, maybe emptied: catch every relay up, and register every room here
        again (trying for a while: the first commands on connections from before the restart
        fail; the periodic renewal takes over after)."""
        for relay in list(self.relays.values()):
            relay.resume()
        rooms = list(self.owned.values())
        for _ in range(RENEW_TRIES):
            rooms = [room for room in rooms if not room.ended and not await room.renew()]
            if not rooms:
                return
            await asyncio.sleep(RENEW_SECONDS)

    async def farewell(self) -> None:
        """The server is stopping: its rooms end and their viewers here are told why; students
        of rooms driven elsewhere are told to reconnect. Then their last frames leave."""
        rooms, relays = list(self.owned.values()), list(self.relays.values())
        viewers = [c for room in rooms for c in room.teachers]
        viewers += [c for relay in relays for c in relay.viewers]
        await asyncio.gather(*(room.end("stopped") for room in rooms))
        ended = {room.code for room in rooms}
        for relay in relays:  # told here: the room's channel may be down with Redis
            if relay.code in ended:
                relay.close(closed_data(relay.code, "stopped"))
            else:
                relay.restarting()
        await _drained(viewers)

    async def stop(self) -> None:
        """End every room this process still drives, then disconnect."""
        await asyncio.gather(*(room.end("stopped") for room in list(self.owned.values())))
        await self.forks.stop()
        await self.broker.stop()

    async def create(self) -> Room:
        """A new room with a fresh run, a free code and a secret token."""
        if len(self.owned) >= self.settings.max_rooms:
            raise RoomsFull(f"this server drives {self.settings.max_rooms} rooms already")
        hosted = await self.sessions.workers.open()
        try:
            code = await self._claim_code()
        except BaseException:
            await hosted.close()
            raise
        room = Room(self, code, hosted)
        await room.driver.greet()  # the run's hello and spectrum open the snapshot
        room.show_state()
        await self.broker.owners.serve(code, room.on_note, room.on_request)
        self.owned[code] = room
        return room

    async def _claim_code(self) -> str:
        for _ in range(100):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if await self.broker.directory.claim(code, self.directory_ttl):
                return code
        raise RoomsFull("no free room code")

    async def exists(self, code: str) -> bool:
        """Whether a room is live (here, followed here, or in another process)."""
        relay = self.relays.get(code)
        if code in self.owned or (relay is not None and not relay.closed):
            return True
        return await self.broker.directory.exists(code)

    async def seat(self, code: str, client: Client) -> Seat | None:
        """Seat a new client in a room as a student; None if there is no such room."""
        if not await self.exists(code):
            return None
        relay = await self.follow(code)
        if relay is None:
            return None
        if len(relay.students) >= self.settings.max_room_students:
            raise RoomsFull(f"room {code} is full ({self.settings.max_room_students} students)")
        join = join_info(client.url, self.settings, code)
        students = len(relay.students) + 1  # on this process; the teacher sees the total
        client.deliver(p.RoomFrame(code=code, role="student", students=students, **join.fields()))
        relay.add(client)
        return Seat(self, code, relay)

    async def follow(self, code: str) -> Relay | None:
        """This process's relay of the room, opened if need be; None if it cannot follow it."""
        relay = self.relays.get(code)
        if relay is None or relay.closed:
            relay = self.relays[code] = Relay(self, code)
            await relay.open()
        else:
            await relay.ready.wait()
        if relay.failed or relay.closed:
            return None
        return relay


async def _drained(clients: list[Client]) -> None:
    """Wait until these clients have sent their last frames and their close, DRAIN_SECONDS at
    most (then uvicorn closes what is left, with no word of why)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_SECONDS
    while not all(client.finished for client in clients) and loop.time() < deadline:
        await asyncio.sleep(0.02)
