"""One process's share of a room's students, fed from the room's channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import orjson

from app.web.broker import BROKER_ERRORS, RoomMessage
from app.web.client import CLOSE_NORMAL, Client
from app.web.rooms.notices import closed_data
from app.web.rooms.room import PRESENCE_SECONDS
from app.web.rooms.snapshot import Snapshot

if TYPE_CHECKING:
    from app.web.rooms.registry import Rooms

log = logging.getLogger("unroll.rooms")

SNAPSHOT_OP = orjson.dumps({"op": "snapshot"})


class Relay:
    """This process's students of one room, and a replica of the room's snapshot for them.

    It follows the room's channel and hands each frame (the same string) to every student on the
    droppable lane; a student who falls behind skips to the replica, the room as it is now.
    """

    def __init__(self, rooms: Rooms, code: str) -> None:
        self.rooms = rooms
        self.code = code
        self.students: set[Client] = set()
        self.replica = Snapshot()
        self.ready = asyncio.Event()
        self.failed = False
        self.closed = False
        self._pending: list[RoomMessage] | None = []  # buffered while a snapshot is on its way
        self._heartbeat: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # held, so they are not collected mid-way

    async def open(self) -> None:
        """Follow the room, then fetch its snapshot; frames that overtake it are buffered."""
        try:
            await self.rooms.broker.channels.subscribe(self.code, self.receive)
            await self._load()
        except BROKER_ERRORS as exc:
            log.info("cannot follow room %s: %s", self.code, exc)
            self.failed = True
            await self._stop()
        else:
            self._heartbeat = asyncio.create_task(self._beat())
        finally:
            self.ready.set()

    async def _load(self) -> None:
        self._pending = []
        raw = await self.rooms.broker.owners.request(self.code, SNAPSHOT_OP)
        snapshot = Snapshot.unpack(raw)
        for message in self._pending:
            if message.seq > snapshot.seq:
                snapshot.apply(message)
        self.replica, self._pending = snapshot, None

    def receive(self, message: RoomMessage) -> None:
        """One message of the room: fan the frame out (the same string to every student)."""
        if message.kind == "room_closed":
            self.close(message.data)
            return
        if self._pending is not None:
            self._pending.append(message)
            return
        if message.seq != self.replica.seq + 1:  # a message was lost on the way: start over
            log.warning("room %s: frame %d after %d", self.code, message.seq, self.replica.seq)
            self._pending = [message]
            self._spawn(self._reload())
            return
        self.replica.apply(message)
        for student in self.students:
            student.deliver(message.data, droppable=True)

    async def _reload(self) -> None:
        try:
            await self._load()
        except BROKER_ERRORS:
            return
        for student in self.students:
            student.catch_up()

    def frames(self) -> list[str]:
        """The current state, for a student who arrives or falls behind."""
        return self.replica.frames()

    def add(self, client: Client) -> None:
        """Seat a student: it gets the current state, then every frame."""
        self.students.add(client)
        client.follow(self.frames)
        self._report()

    def remove(self, client: Client) -> None:
        """A student left (closed the tab, forked, or became the teacher)."""
        self.students.discard(client)
        client.unfollow()
        self._report()

    def close(self, data: str) -> None:
        """The room is over: every student is told and closed; the relay goes away."""
        for student in self.students:
            student.close_after(CLOSE_NORMAL, "the room is over", data)
        self.students.clear()
        self.closed = True
        self._spawn(self._stop())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self) -> None:
        broker = self.rooms.broker
        note = {"op": "presence", "relay": broker.instance, "students": len(self.students)}
        broker.owners.note(self.code, orjson.dumps(note))

    async def _beat(self) -> None:
        """Re-report the count (the owner forgets silent relays), and notice a vanished owner."""
        while True:
            await asyncio.sleep(PRESENCE_SECONDS)
            if not self.students:
                await self._stop()
                return
            self._report()
            with contextlib.suppress(*BROKER_ERRORS):
                if not await self.rooms.broker.directory.exists(self.code):
                    self.close(closed_data(self.code, "ended"))
                    return

    async def _stop(self) -> None:
        self.closed = True
        if self.rooms.relays.get(self.code) is self:
            del self.rooms.relays[self.code]
        heartbeat, self._heartbeat = self._heartbeat, None  # its cancellation refers back to us
        if heartbeat is not None and heartbeat is not asyncio.current_task():
            heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self.rooms.broker.channels.unsubscribe(self.code, self.receive)
