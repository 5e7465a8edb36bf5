"""A room: one run, driven by its teacher, in the process that created it (its owner)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING

import orjson

from app import protocol as p
from app.web.broker import BROKER_ERRORS
from app.web.client import Client
from app.web.driver import Command, Driver
from app.web.rooms.broadcast import Broadcast
from app.web.rooms.notices import closed_data, join_info
from app.web.rooms.snapshot import Snapshot

if TYPE_CHECKING:
    from app.web.rooms.registry import Rooms
    from app.web.workers.hosted import Hosted

log = logging.getLogger("unroll.rooms")

DIRECTORY_REFRESH_SECONDS = 10.0  # the owner renews its room's directory entry this often
FORGET_SECONDS = 0.5  # telling Redis a room is over, at most (its entry's TTL forgets it anyway)
PRESENCE_SECONDS = 5.0  # each relay re-reports its student count this often
COUNT_FRAME_SECONDS = 0.2  # the teacher's student count: at most this often


class Room:
    """One run driven by its teacher and published, frame by frame, to every student."""

    def __init__(self, rooms: Rooms, code: str, hosted: Hosted) -> None:
        self.rooms = rooms
        self.code = code
        self.token = secrets.token_urlsafe(24)
        self.broadcast = Broadcast(code, rooms.broker.channels)
        self.driver = Driver(hosted, rooms.settings, self.broadcast)  # the room's one engine run
        self.presence: dict[str, tuple[int, float]] = {}  # relay -> (students, when reported)
        self.ended = False
        self._loop = asyncio.get_running_loop()
        self.last_active = self._loop.time()
        self._count_due = False
        self._count_shown = 0
        self._export: tuple[int, bytes] | None = None
        self._export_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = asyncio.create_task(self._watch_idle())

    @property
    def teachers(self) -> set[Client]:
        """The clients that showed the token."""
        return self.broadcast.teachers

    @property
    def snapshot(self) -> Snapshot:
        """The frames a newcomer needs."""
        return self.broadcast.snapshot

    @property
    def students(self) -> int:
        """Students connected to the room, over every process that reported recently."""
        fresh = self._loop.time() - 3 * PRESENCE_SECONDS
        return sum(count for count, heard in self.presence.values() if heard >= fresh)

    def room_frame(self, teacher: Client) -> p.RoomFrame:
        """What a teacher's page shows about the room."""
        join = join_info(teacher.url, self.rooms.settings, self.code)
        self._count_shown = self.students
        return p.RoomFrame(code=self.code, role="teacher", students=self.students, **join.fields())

    # ------------------------------------------------------------------ teachers

    def add_teacher(self, client: Client) -> None:
        """A client showed the token: it gets every frame, as a playground's client does."""
        self.teachers.add(client)
        client.follow(self.snapshot.frames, catch_up=False)  # it saw the run so far as a student
        self.touch()

    def remove_teacher(self, client: Client) -> None:
        """A teacher's tab closed; the room goes on (a reload reconnects)."""
        self.teachers.discard(client)
        self.touch()

    def touch(self) -> None:
        """The teacher is here: the idle clock starts again."""
        self.last_active = self._loop.time()

    async def run(self, command: Command) -> str | None:
        """A teacher's command."""
        self.touch()
        try:
            return await self.driver.run(command)
        finally:
            self.broadcast.version += 1  # e.g. set_hyper changes the state without a frame

    # ------------------------------------------------------------------ what other processes ask

    def on_note(self, body: bytes) -> None:
        """A relay reports how many students it holds."""
        note = orjson.loads(body)
        if note.get("op") == "presence":
            self.presence[str(note["relay"])] = (int(note["students"]), self._loop.time())
            self._count_changed()

    async def on_request(self, body: bytes) -> bytes:
        """A relay asks for the current snapshot, or a student's process for a fork."""
        op = orjson.loads(body).get("op")
        if op == "snapshot":
            return self.snapshot.pack()
        if op == "fork":
            return await self.export()
        raise ValueError(f"unknown request {op!r}")

    async def export(self) -> bytes:
        """The session as exported now, with the frames of the iteration so far, encoded.

        One export serves every fork until the run changes. The frames let a fork show what the
        room showed (an import replays the steps taken, but sends none of their frames). The
        steps come first, on a line of their own: a fork reads them without parsing the state,
        which its worker parses.
        """
        async with self._export_lock:
            if self._export is None or self._export[0] != self.broadcast.version:
                version = self.broadcast.version
                # At the same moment: the frames shown so far match the exported state.
                state, steps = await self.driver.exported(lambda: list(self.snapshot.steps))
                self._export = (version, orjson.dumps(steps) + b"\n" + state)
            return self._export[1]

    def _count_changed(self) -> None:
        if self._count_due:
            return
        self._count_due = True
        self._loop.call_later(COUNT_FRAME_SECONDS, self._send_count)

    def _send_count(self) -> None:
        self._count_due = False
        if self.students == self._count_shown:
            return  # a relay's heartbeat, with nothing new
        for teacher in self.teachers:
            teacher.deliver(self.room_frame(teacher), droppable=True)

    # ------------------------------------------------------------------ the end

    async def _watch_idle(self) -> None:
        """Keep the directory entry alive; end the room once it has been idle too long."""
        idle = self.rooms.settings.room_idle_seconds
        while True:
            since = self._loop.time() - self.last_active
            await asyncio.sleep(min(DIRECTORY_REFRESH_SECONDS, max(idle - since, 0.01)))
            if not self.teachers and self._loop.time() - self.last_active >= idle:
                await self.end("expired")
                return
            self._count_changed()  # a relay that went silent drops out of the count
            await self.renew()

    async def renew(self) -> bool:
        """Keep the directory entry alive, writing it again if Redis forgot it (a restart)."""
        try:
            await self.rooms.broker.directory.refresh(self.code, self.rooms.directory_ttl)
        except BROKER_ERRORS as exc:
            log.info("room %s: cannot renew its directory entry: %r", self.code, exc)
            return False
        return True

    async def end(self, reason: str) -> None:
        """Stop the run, tell every viewer why, and close them; the code is free again."""
        if self.ended:
            return
        self.ended = True
        self.rooms.owned.pop(self.code, None)
        # Let go of the task too: its cancellation's traceback refers back to this room.
        watch, self._watch = self._watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
        await self.driver.close()
        data = closed_data(self.code, reason)
        self.broadcast.announce_end(data)
        broker = self.rooms.broker
        try:
            async with asyncio.timeout(FORGET_SECONDS):
                await broker.owners.unserve(self.code)
                await broker.directory.release(self.code)
        except BROKER_ERRORS as exc:  # Redis gone or silent: the entry's TTL forgets the room
            log.warning("room %s: %s", self.code, str(exc) or "Redis did not answer")
        # Last and without a pause: a teacher who sent end_room gets its ack before the close.
        self.broadcast.dismiss_teachers(data)
