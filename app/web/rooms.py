"""Classroom rooms: one run, driven by a teacher, shown live to every student.

- `Room` lives in the process that created it (its owner): one Driver (one engine run), the
  secret control token, the teachers' connections, and a `Snapshot` of the frames a newcomer needs.
  Each frame is encoded once and published through the broker with a sequence number.
- `Relay` is one process's share of a room's students: it follows the room's channel, keeps a
  replica of the snapshot, and puts each frame (the same string) into every student's outbox on
  the droppable lane. A student who falls behind is coalesced: it skips to the current snapshot.
- `Seat` is a connection's place in a room: what its commands may do (students: fork only).
- `Rooms` is the registry of one server process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections import deque
from collections.abc import Coroutine
from typing import Any

import anyio
import orjson
from pydantic import BaseModel

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.broker import BROKER_ERRORS, Broker, RoomMessage
from app.web.connection import ClientNotReading
from app.web.driver import Driver
from app.web.live import CLOSE_NORMAL, CLOSE_POLICY, LiveConnection, SessionRegistry, limits_from
from app.web.settings import Settings

log = logging.getLogger("unroll.rooms")

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector
CODE_LENGTH = 6
CODE_PATTERN = r"^[A-Za-z0-9]{4,12}$"
DIRECTORY_REFRESH_SECONDS = 10.0  # the owner renews its room's directory entry this often
PRESENCE_SECONDS = 5.0  # each relay re-reports its student count this often
COUNT_FRAME_SECONDS = 0.2  # the teacher's student count: at most this often
SNAPSHOT_OP = orjson.dumps({"op": "snapshot"})
FORK_OP = orjson.dumps({"op": "fork"})

# Frames a newcomer needs the latest of, in the order it gets them; then the steps of the
# iteration in progress (from its `sequence`, or from the run's `hello`).
_LATEST = ("hello", "spectrum", "progress", "sample")
_STEPS = ("sequence", "forward", "backward", "update")


class Snapshot:
    """The frames that show a run as it is now, for a viewer who arrives or falls behind."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.latest: dict[str, str] = {}
        self.steps: deque[str] = deque(maxlen=4096)  # an iteration holds 2T + 2 frames

    def apply(self, message: RoomMessage) -> None:
        """Take one more frame of the run."""
        self.seq = message.seq
        kind = message.kind
        if kind == "hello":  # a new run: everything before it is obsolete
            self.latest = {"hello": message.data}
            self.steps.clear()
        elif kind in _LATEST:
            self.latest[kind] = message.data
        elif kind == "sequence":
            self.steps.clear()
            self.steps.append(message.data)
        elif kind in _STEPS:
            self.steps.append(message.data)

    def frames(self) -> list[str]:
        """The frames to send, in order."""
        return [self.latest[k] for k in _LATEST if k in self.latest] + list(self.steps)

    def pack(self) -> bytes:
        """For a relay in another process."""
        return orjson.dumps({"seq": self.seq, "latest": self.latest, "steps": list(self.steps)})

    @classmethod
    def unpack(cls, raw: bytes) -> Snapshot:
        """The inverse of pack."""
        data = orjson.loads(raw)
        snapshot = cls(data["seq"])
        snapshot.latest = data["latest"]
        snapshot.steps.extend(data["steps"])
        return snapshot


def closed_frame(code: str, reason: str) -> p.RoomClosed:
    """Why a room's viewers are being let go."""
    messages = {
        "ended": f"The teacher ended room {code}.",
        "expired": f"Room {code} was idle for too long and has closed.",
        "not_found": f"There is no room {code}: check the code; it may have ended.",
    }
    return p.RoomClosed.model_validate(
        {"code": code, "reason": reason, "message": messages[reason]}
    )


def close_viewer(connection: LiveConnection, data: str) -> None:
    """Send the room_closed frame, then close the connection politely."""
    if isinstance(connection.seat, Seat):
        connection.seat.ended = True
    connection.outbox.resync = None
    connection.outbox.discard_animation()
    connection.outbox.put(data, droppable=False)
    connection.outbox.close(CLOSE_NORMAL, "the room is over")


class Room:
    """One run driven by its teacher and published, frame by frame, to every student."""

    def __init__(self, rooms: Rooms, code: str, session: Session) -> None:
        self.rooms = rooms
        self.code = code
        self.token = secrets.token_urlsafe(24)
        self.driver = Driver(session, rooms.settings, self)  # the room's one engine run
        self.teachers: set[LiveConnection] = set()
        self.snapshot = Snapshot()
        self.seq = 0
        self.version = 0  # bumped by every frame and every teacher command: keys the export cache
        self.presence: dict[str, tuple[int, float]] = {}  # relay -> (students, when reported)
        self.ended = False
        self._loop = asyncio.get_running_loop()
        self.last_active = self._loop.time()
        self._count_due = False
        self._count_shown = 0
        self._export: tuple[int, bytes] | None = None
        self._export_lock = asyncio.Lock()
        self._watch = asyncio.create_task(self._watch_idle())
        self.driver.greet()  # the run's hello and spectrum open the snapshot

    # ------------------------------------------------------------------ frames out

    def show(self, frame: BaseModel, *, droppable: bool = False) -> None:
        """Encode once; to the teachers as to a private session's client, and to every student."""
        data = p.encode(frame).decode()
        for teacher in list(self.teachers):
            try:
                teacher.outbox.put(data, droppable=droppable)
            except ClientNotReading:  # a teacher tab that stopped reading must not stop the room
                self.teachers.discard(teacher)
                teacher.outbox.close(CLOSE_POLICY, "client is not reading its replies")
        self.seq += 1
        self.version += 1
        message = RoomMessage(self.seq, str(getattr(frame, "type", "")), data)
        self.snapshot.apply(message)
        self.rooms.broker.publish(self.code, message)

    @property
    def students(self) -> int:
        """Students connected to the room, over every process that reported recently."""
        fresh = self._loop.time() - 3 * PRESENCE_SECONDS
        return sum(count for count, heard in self.presence.values() if heard >= fresh)

    def room_frame(self, teacher: LiveConnection) -> p.RoomFrame:
        """What a teacher's page shows about the room."""
        link = join_url(public_base(teacher.websocket.url, teacher.settings), self.code)
        self._count_shown = self.students
        return p.RoomFrame(code=self.code, role="teacher", students=self.students, join_url=link)

    # ------------------------------------------------------------------ teachers

    def add_teacher(self, connection: LiveConnection) -> None:
        """A connection showed the token: it gets every frame, as a playground's client does."""
        self.teachers.add(connection)
        connection.outbox.resync = self.snapshot.frames  # coalesce its animation if it lags
        self.touch()

    def remove_teacher(self, connection: LiveConnection) -> None:
        """A teacher's tab closed; the room goes on (a reload reconnects)."""
        self.teachers.discard(connection)
        self.touch()

    def touch(self) -> None:
        """The teacher is here: the idle clock starts again."""
        self.last_active = self._loop.time()

    async def run(self, command: p.Command) -> BaseModel | None:
        """A teacher's command."""
        self.touch()
        try:
            return await self.driver.run(command)
        finally:
            self.version += 1  # e.g. set_hyper changes the state without a frame

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
        room showed (an import replays the steps taken, but sends none of their frames).
        """
        async with self._export_lock:
            if self._export is None or self._export[0] != self.version:
                version = self.version

                def both() -> tuple[p.ExportFrame, list[str]]:
                    # Under the driver's lock: the frames shown so far match the exported state.
                    return self.driver.session.export(), list(self.snapshot.steps)

                frame, steps = await self.driver.locked(both, in_thread=True)
                state = orjson.Fragment(p.encode(frame.state))
                self._export = (version, orjson.dumps({"state": state, "steps": steps}))
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
            teacher.send(self.room_frame(teacher), droppable=True)

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
            with contextlib.suppress(*BROKER_ERRORS):
                await self.rooms.broker.refresh(self.code, self.rooms.directory_ttl)

    async def end(self, reason: str) -> None:
        """Stop the run, tell every viewer why, and close them; the code is free again."""
        if self.ended:
            return
        self.ended = True
        self.rooms.owned.pop(self.code, None)
        if asyncio.current_task() is not self._watch:
            self._watch.cancel()
        await self.driver.stop_job()
        data = p.encode(closed_frame(self.code, reason)).decode()
        self.seq += 1
        self.rooms.broker.publish(self.code, RoomMessage(self.seq, "room_closed", data))
        for forget in (self.rooms.broker.unserve, self.rooms.broker.release):
            try:
                await forget(self.code)
            except BROKER_ERRORS as exc:  # Redis gone: the entry's TTL forgets the room
                log.warning("room %s: %s", self.code, exc)
        # Last and without a pause: a teacher who sent end_room gets its ack before the close.
        for teacher in self.teachers:
            close_viewer(teacher, data)
        self.teachers.clear()


class Relay:
    """This process's students of one room, and a replica of the room's snapshot for them."""

    def __init__(self, rooms: Rooms, code: str) -> None:
        self.rooms = rooms
        self.code = code
        self.students: set[LiveConnection] = set()
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
            await self.rooms.broker.subscribe(self.code, self.receive)
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
        snapshot = Snapshot.unpack(await self.rooms.broker.request(self.code, SNAPSHOT_OP))
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
            student.outbox.put(message.data, droppable=True)

    async def _reload(self) -> None:
        try:
            await self._load()
        except BROKER_ERRORS:
            return
        for student in self.students:
            student.outbox.request_resync()

    def frames(self) -> list[str]:
        """The current state, for a student who arrives or falls behind."""
        return self.replica.frames()

    def add(self, connection: LiveConnection) -> None:
        """Seat a student: it gets the current state, then every frame."""
        self.students.add(connection)
        connection.outbox.resync = self.frames
        connection.outbox.request_resync()
        self._report()

    def remove(self, connection: LiveConnection) -> None:
        """A student left (closed the tab, forked, or became the teacher)."""
        self.students.discard(connection)
        connection.outbox.resync = None
        self._report()

    def close(self, data: str) -> None:
        """The room is over: every student is told and closed; the relay goes away."""
        for student in self.students:
            close_viewer(student, data)
        self.students.clear()
        self.closed = True
        self._spawn(self._stop())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _report(self) -> None:
        body = orjson.dumps(
            {"op": "presence", "relay": self.rooms.broker.instance, "students": len(self.students)}
        )
        self.rooms.broker.note(self.code, body)

    async def _beat(self) -> None:
        """Re-report the count (the owner forgets silent relays), and notice a vanished owner."""
        while True:
            await asyncio.sleep(PRESENCE_SECONDS)
            if not self.students:
                await self._stop()
                return
            self._report()
            with contextlib.suppress(*BROKER_ERRORS):
                if not await self.rooms.broker.exists(self.code):
                    self.close(p.encode(closed_frame(self.code, "ended")).decode())
                    return

    async def _stop(self) -> None:
        self.closed = True
        if self.rooms.relays.get(self.code) is self:
            del self.rooms.relays[self.code]
        if self._heartbeat is not None and asyncio.current_task() is not self._heartbeat:
            self._heartbeat.cancel()
        with contextlib.suppress(Exception):
            await self.rooms.broker.unsubscribe(self.code, self.receive)


class Seat:
    """A connection's place in a room: a student watches; a teacher (with the token) drives."""

    def __init__(self, rooms: Rooms, code: str, connection: LiveConnection) -> None:
        self.rooms = rooms
        self.code = code
        self.connection = connection
        self.relay: Relay | None = None
        self.room: Room | None = None  # set once the connection is the room's teacher
        self.ended = False

    async def handle(self, command: p.Command) -> BaseModel | None:
        """Students may fork (or join with the token); only the teacher drives the room."""
        if self.ended:
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        match command:
            case p.Join(token=token):
                self._join(token)
                return None
            case p.Fork():
                await self._fork()
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

    def _join(self, token: str) -> None:
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
        if self.relay is not None:
            self.relay.remove(self.connection)
            self.relay = None
        self.room = room
        room.add_teacher(self.connection)
        self.connection.send(room.room_frame(self.connection))

    async def _fork(self) -> None:
        if self.room is not None:
            raise CommandRefused("bad_phase", "the teacher drives the room; only students fork")
        registry = self.rooms.sessions
        if registry.full:
            message = f"the server is full ({registry.capacity} sessions); try again soon"
            raise CommandRefused("server_busy", message)
        try:
            exported = await self.rooms.broker.request(self.code, FORK_OP)
        except BROKER_ERRORS as exc:
            raise CommandRefused("bad_phase", f"cannot fork room {self.code}: {exc}") from exc
        fork = orjson.loads(exported)
        state = p.SessionState.model_validate(fork["state"])
        limits = limits_from(self.rooms.settings)

        def copy() -> Session:
            session = Session(state.config, limits)
            session.import_state(state)
            return session

        session = await anyio.to_thread.run_sync(copy)
        if self.ended:  # the room ended while the copy was made: its close is on its way
            raise CommandRefused("bad_phase", f"room {self.code} is over")
        if not registry.try_add(self.connection):
            raise CommandRefused("server_busy", "the server filled up meanwhile; try again soon")
        if self.relay is not None:
            self.relay.remove(self.connection)
            self.relay = None
        self.connection.drive(session)
        for frame in fork["steps"]:  # the iteration so far, as the room showed it
            self.connection.outbox.put(frame, droppable=False)

    async def leave(self) -> None:
        """The connection closed."""
        if self.relay is not None:
            self.relay.remove(self.connection)
        if self.room is not None:
            self.room.remove_teacher(self.connection)


def public_base(url: object, settings: Settings) -> str:
    """Where students reach this server: the configured public URL, else the request's origin."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    text = str(url)
    scheme, _, rest = text.partition("://")
    host = rest.split("/", 1)[0]
    return f"{'https' if scheme in ('https', 'wss') else 'http'}://{host}"


def join_url(base: str, code: str) -> str:
    """The student page of a room."""
    return f"{base}/room/{code}"


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

    @property
    def directory_ttl(self) -> float:
        """How long a room's directory entry outlives its owner's last refresh."""
        return 3 * DIRECTORY_REFRESH_SECONDS

    async def start(self) -> None:
        """Connect the broker."""
        await self.broker.start()

    async def stop(self) -> None:
        """End every room this process drives, then disconnect."""
        for room in list(self.owned.values()):
            await room.end("ended")
        await self.broker.stop()

    async def create(self) -> Room:
        """A new room with a fresh run, a free code and a secret token."""
        if len(self.owned) >= self.settings.max_rooms:
            raise RoomsFull(f"this server drives {self.settings.max_rooms} rooms already")
        session = Session(p.RunConfig(), limits_from(self.settings))
        for _ in range(100):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if await self.broker.claim(code, self.directory_ttl):
                break
        else:
            raise RoomsFull("no free room code")
        room = Room(self, code, session)
        await self.broker.serve(code, room.on_note, room.on_request)
        self.owned[code] = room
        return room

    async def exists(self, code: str) -> bool:
        """Whether a room is live (here or in another process)."""
        return code in self.owned or await self.broker.exists(code)

    async def seat(self, code: str, connection: LiveConnection) -> Seat | None:
        """Seat a new connection in a room as a student; None if there is no such room."""
        if not await self.exists(code):
            return None
        relay = self.relays.get(code)
        if relay is None or relay.closed:
            relay = self.relays[code] = Relay(self, code)
            await relay.open()
        else:
            await relay.ready.wait()
        if relay.failed or relay.closed:
            return None
        if len(relay.students) >= self.settings.max_room_students:
            raise RoomsFull(f"room {code} is full ({self.settings.max_room_students} students)")
        seat = Seat(self, code, connection)
        seat.relay = relay
        connection.seat = seat
        base = public_base(connection.websocket.url, self.settings)
        link = join_url(base, code)
        students = len(relay.students) + 1  # on this process; the teacher sees the total
        connection.send(p.RoomFrame(code=code, role="student", students=students, join_url=link))
        relay.add(connection)
        return seat
