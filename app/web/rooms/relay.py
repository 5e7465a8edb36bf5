"""One process's share of a room's students, fed from the room's channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import orjson

from app import protocol as p
from app.web.broker import BROKER_ERRORS, BrokerError, RoomMessage
from app.web.client import CLOSE_NORMAL, CLOSE_POLICY, Client
from app.web.outbox import ClientNotReading
from app.web.rooms.notices import closed_data
from app.web.rooms.room import PRESENCE_SECONDS
from app.web.rooms.snapshot import Snapshot

if TYPE_CHECKING:
    from app.web.rooms.registry import Rooms

log = logging.getLogger("unroll.rooms")

SNAPSHOT_OP = orjson.dumps({"op": "snapshot"})
RELOAD_SECONDS = 0.5  # between attempts to fetch the room's state again
CLOSE_RESTARTING = 1012  # this process stops; the room goes on: reconnect (to another process)
GONE_BEATS = 2  # heartbeats in a row without a directory entry or an owner: the room is gone


class Relay:
    """This process's students of one room, and a replica of the room's snapshot for them.

    It follows the room's channel and hands each frame (the same string) to every student on the
    droppable lane; a student who falls behind skips to the replica, the room as it is now.
    """

    def __init__(self, rooms: Rooms, code: str) -> None:
        self.rooms = rooms
        self.code = code
        self.students: set[Client] = set()
        # Teachers seated here while another process drives the room: each with its room frame.
        self.teachers: dict[Client, Callable[[int], p.RoomFrame]] = {}
        self.replica = Snapshot()
        self.ready = asyncio.Event()
        self.failed = False
        self.closed = False
        self._pending: list[RoomMessage] | None = []  # buffered while a snapshot is on its way
        self._reloading = False
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
        if message.seq <= self.replica.seq:  # already in the replica (sent again after an outage)
            return
        if message.seq != self.replica.seq + 1:  # a message was lost on the way: start over
            log.warning("room %s: frame %d after %d", self.code, message.seq, self.replica.seq)
            self._pending = [message]
            self.catch_up()
            return
        self.replica.apply(message)
        if message.kind.startswith("teachers:"):
            self._to_teachers(message)
            return
        for viewer in self.viewers:
            viewer.deliver(message.data, droppable=True)

    @property
    def viewers(self) -> list[Client]:
        """Everyone here who watches the room: its students and its remote teachers."""
        return [*self.students, *self.teachers]

    def _to_teachers(self, message: RoomMessage) -> None:
        """A frame for teachers only: the class view, or the student count (as a room frame)."""
        for teacher, room_frame in list(self.teachers.items()):
            if message.kind == "teachers:count":
                teacher.deliver(room_frame(int(message.data)), droppable=True)
                continue
            try:  # the class view: sent only when it changed, so never dropped
                teacher.deliver(message.data)
            except ClientNotReading:  # a stalled teacher tab must not stop the room's students
                teacher.close_after(CLOSE_POLICY, "client is not reading its replies")

    def add_teacher(self, client: Client, room_frame: Callable[[int], p.RoomFrame]) -> None:
        """A teacher seated here: the room's frames, and the teachers' ones."""
        self.students.discard(client)
        self.teachers[client] = room_frame
        client.follow(self.frames, catch_up=False)  # it saw the run so far as a student
        self._report()

    def remove_teacher(self, client: Client) -> None:
        """A remote teacher's tab closed."""
        if self.teachers.pop(client, None) is not None:
            client.unfollow()
            self._report()

    def catch_up(self) -> None:
        """Fetch the room's state again (a frame was lost, or Redis is back), then go on live."""
        if not self._reloading and not self.closed:
            self._reloading = True
            self._spawn(self._reload())

    async def _reload(self) -> None:
        """Until the owner answers (frames that arrive meanwhile wait), or the relay closes."""
        failures = 0
        try:
            while not self.closed:
                try:
                    await self._load()
                except BROKER_ERRORS as exc:
                    if not failures:
                        log.info("room %s: cannot fetch its state yet: %s", self.code, exc)
                    failures += 1
                    await asyncio.sleep(RELOAD_SECONDS)
                    continue
                for viewer in self.viewers:
                    viewer.catch_up()
                return
        finally:
            self._reloading = False

    def resume(self) -> None:
        """Redis is back: report the students again, and catch up with what was missed."""
        self._report()
        self.catch_up()

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
        self._dismiss(CLOSE_NORMAL, "the room is over", data)

    def restarting(self) -> None:
        """This process stops but the room goes on elsewhere: its students reconnect."""
        self._dismiss(CLOSE_RESTARTING, "the server is restarting")

    def _dismiss(self, code: int, reason: str, data: str | None = None) -> None:
        for viewer in self.viewers:
            viewer.close_after(code, reason, data)
        self.students.clear()
        self.teachers.clear()
        self.closed = True
        self._spawn(self._stop())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self) -> None:
        broker = self.rooms.broker
        note = {
            "op": "presence",
            "relay": broker.instance,
            "students": len(self.students),
            "teachers": len(self.teachers),
        }
        broker.owners.note(self.code, orjson.dumps(note))

    async def _beat(self) -> None:
        """Re-report the count (the owner forgets silent relays), and notice a vanished owner."""
        gone = 0
        while True:
            await asyncio.sleep(PRESENCE_SECONDS)
            if not self.viewers:
                await self._stop()
                return
            self._report()
            gone = gone + 1 if await self._owner_gone() else 0
            if gone >= GONE_BEATS:
                self.close(closed_data(self.code, "stopped"))
                return

    async def _owner_gone(self) -> bool:
        """Whether the owner is gone: its directory entry lapsed and it answers no request.

        A missing entry alone is not enough: a Redis that restarted has forgotten every entry
        until the owners write them again. Unreachable Redis tells nothing either way.
        """
        broker = self.rooms.broker
        try:
            if await broker.directory.exists(self.code):
                return False
            await broker.owners.request(self.code, SNAPSHOT_OP)
        except BrokerError:
            return True
        except BROKER_ERRORS:
            return False
        return False

    async def _stop(self) -> None:
        self.closed = True
        if self.rooms.relays.get(self.code) is self:
            del self.rooms.relays[self.code]
        heartbeat, self._heartbeat = self._heartbeat, None  # its cancellation refers back to us
        if heartbeat is not None and heartbeat is not asyncio.current_task():
            heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self.rooms.broker.channels.unsubscribe(self.code, self.receive)
