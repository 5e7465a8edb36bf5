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
from app.web.rooms.classview import ClassView
from app.web.rooms.notices import closed_data, teacher_frame
from app.web.rooms.requests import on_note, on_request
from app.web.rooms.snapshot import Snapshot, retuned
from app.web.rooms.spotlight import Spotlight

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
        self.own = Driver(hosted, rooms.settings, self.broadcast)  # the teacher's run
        self.classview = ClassView(code, self.broadcast, rooms.settings.max_class_rows)
        services = (rooms.settings, rooms.sessions, rooms.broker)
        # ... or a fork's run, shown to everyone instead
        self.spotlight = Spotlight(self.own, self.broadcast, self.classview, services)
        self.forking = True  # students may fork (the teacher can lock it)
        self.forks_made = 0  # anonymous forks are "Student N"
        # relay -> (students, teachers, when reported)
        self.presence: dict[str, tuple[int, int, float]] = {}
        self.ended = False
        self.loop = asyncio.get_running_loop()
        self.last_active = self.loop.time()
        self._count_due = False
        self._count_shown = 0
        self._export: tuple[int, bytes] | None = None
        self._export_lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = asyncio.create_task(self._watch_idle())

    @property
    def driver(self) -> Driver:
        """The run everyone sees: the teacher's, or the spotlit fork's copy."""
        return self.spotlight.driver or self.own

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
        fresh = self.loop.time() - 3 * PRESENCE_SECONDS
        return sum(count for count, _, heard in self.presence.values() if heard >= fresh)

    @property
    def remote_teachers(self) -> int:
        """Teachers connected to other processes that reported recently."""
        fresh = self.loop.time() - 3 * PRESENCE_SECONDS
        return sum(count for _, count, heard in self.presence.values() if heard >= fresh)

    def room_frame(self, teacher: Client) -> p.RoomFrame:
        """What a teacher's page shows about the room."""
        return teacher_frame(teacher.url, self.rooms.settings, self.code, self.students)

    def state_frame(self) -> p.RoomState:
        """What the teacher decided: forking allowed or not, whose run is shown."""
        return p.RoomState(code=self.code, forking=self.forking, spotlight=self.spotlight.spotlit)

    def show_state(self) -> None:
        """Everyone (and the snapshot) gets the room's state."""
        self.broadcast.deliver(self.state_frame())

    # ------------------------------------------------------------------ teachers

    def add_teacher(self, client: Client) -> None:
        """A client showed the token: it gets every frame, as a playground's client does."""
        self.teachers.add(client)
        client.follow(self.snapshot.frames, catch_up=False)  # it saw the run so far as a student
        client.deliver(self.room_frame(client))
        client.deliver(self.classview.frame())
        self.touch()

    def remove_teacher(self, client: Client) -> None:
        """A teacher's tab closed; the room goes on (a reload reconnects)."""
        self.teachers.discard(client)
        self.touch()

    def touch(self) -> None:
        """The teacher is here: the idle clock starts again."""
        self.last_active = self.loop.time()

    async def command(self, command: Command) -> str | None:
        """A teacher's command (from this process or forwarded from another)."""
        self.touch()
        match command:
            case p.EndRoom():
                await self.end("ended")
            case p.Spotlight(fork_id=fork_id):
                await self.spotlight.show(fork_id)
                self.show_state()
            case p.LockForks(locked=locked):
                self.forking = not locked
                self.show_state()
            case p.ClassCsv():
                return p.encode(self.classview.csv()).decode()
            case _:
                return await self.run(command)
        return None

    async def run(self, command: Command) -> str | None:
        """A teacher's command for the run shown; knobs turned mid-run reach every viewer."""
        try:
            reply = await self.driver.run(command)
        finally:
            self.broadcast.version += 1  # e.g. set_hyper changes the state without a frame
        hyper = retuned(command, self.snapshot)
        if hyper is not None:
            self.broadcast.deliver(hyper)
        return reply

    # ------------------------------------------------------------------ what other processes ask

    def on_note(self, body: bytes) -> None:
        """A relay reports its students and teachers; a fork reports its class row."""
        on_note(self, body)

    async def on_request(self, body: bytes) -> bytes:
        """Another process asks (for the snapshot, a fork, a teacher's seat or command)."""
        return await on_request(self, body)

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

    def count_changed(self) -> None:
        if self._count_due:
            return
        self._count_due = True
        self.loop.call_later(COUNT_FRAME_SECONDS, self._send_count)

    def _send_count(self) -> None:
        self._count_due = False
        if self.students == self._count_shown:
            return  # a relay's heartbeat, with nothing new
        self._count_shown = self.students
        for teacher in self.teachers:
            teacher.deliver(self.room_frame(teacher), droppable=True)
        self.broadcast.to_teachers("count", str(self._count_shown), local=False)

    # ------------------------------------------------------------------ the end

    async def _watch_idle(self) -> None:
        """Keep the directory entry alive; end the room once it has been idle too long."""
        idle = self.rooms.settings.room_idle_seconds
        while True:
            since = self.loop.time() - self.last_active
            await asyncio.sleep(min(DIRECTORY_REFRESH_SECONDS, max(idle - since, 0.01)))
            taught = self.teachers or self.remote_teachers
            if not taught and self.loop.time() - self.last_active >= idle:
                await self.end("expired")
                return
            self.count_changed()  # a relay that went silent drops out of the count
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
        self.classview.stop()
        await self.spotlight.close()
        await self.own.close()
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
