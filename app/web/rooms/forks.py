"""Students' forks: private copies of a room's run that outlive a dropped connection.

A `Fork` is one student's run (a session in a worker, like a playground's) with an id and a
secret. Its driver delivers to a `ForkSink`, which hands the frames to the student's client when
one is attached, keeps the fork's own `Snapshot` (what a resumed page is shown), and feeds the
fork's class row, reported to the room's owner at most every REPORT_SECONDS. When the student's
connection drops, the fork is parked: its job stops, it keeps its place against the server's
capacity, and it is freed after the grace period unless resumed (`resume_fork`, at any process:
another process takes it over through an export, as a fork is made).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel

from app import protocol as p
from app.web.broker import BROKER_ERRORS, Broker, RoomMessage
from app.web.client import Client
from app.web.driver import Command, Driver
from app.web.rooms.classrow import RowTracker
from app.web.rooms.snapshot import Snapshot, retuned
from app.web.workers.messages import Encoded

if TYPE_CHECKING:
    from app.web.rooms.registry import Rooms
    from app.web.workers.hosted import Hosted

log = logging.getLogger("unroll.rooms")

REPORT_SECONDS = 0.5  # a fork's class row reaches the room's owner at most this often
CLOSE_RESUMED = 4001  # the fork was resumed by another connection (another tab, or a reload)


def fork_channel(fork_id: str) -> str:
    """The name a fork answers requests under (its process's, wherever it lives)."""
    return f"fork:{fork_id}"


class Reporter:
    """Sends a fork's class row to the room's owner when it changed, at most every
    REPORT_SECONDS."""

    def __init__(self, broker: Broker, code: str, tracker: RowTracker) -> None:
        self.broker = broker
        self.code = code
        self.tracker = tracker
        self._due = False
        self._sent = -1

    def changed(self) -> None:
        """The row may have changed: report it soon (once)."""
        if not self._due:
            self._due = True
            asyncio.get_running_loop().call_later(REPORT_SECONDS, self.send)

    def send(self) -> None:
        """Report now, if anything changed since the last report."""
        self._due = False
        if self.tracker.version == self._sent:
            return
        self._sent = self.tracker.version
        row = self.tracker.row().model_dump()
        self.broker.owners.note(self.code, orjson.dumps({"op": "class_row", "row": row}))


class ForkSink:
    """Where a fork's driver delivers: its student (if attached), its snapshot, its row."""

    def __init__(self, tracker: RowTracker, reporter: Reporter) -> None:
        self.client: Client | None = None
        self.snapshot = Snapshot()
        self.tracker = tracker
        self.reporter = reporter

    def deliver(self, frame: BaseModel | Encoded | str, *, droppable: bool = False) -> None:
        """To the student; the run's frames also into the snapshot and the row."""
        if isinstance(frame, Encoded):
            self.snapshot.apply(RoomMessage(self.snapshot.seq + 1, frame.type, frame.text))
            self.tracker.see(frame.type, frame.data)
            self.reporter.changed()
        if self.client is not None:
            self.client.deliver(frame, droppable=droppable)

    def show(self, steps: list[str]) -> None:
        """The steps of the iteration so far, as the room showed them (after the fork's hello)."""
        self.snapshot.steps.extend(steps)
        if self.client is not None:
            for step in steps:
                self.client.deliver(step)


class Fork:
    """One student's copy of a room's run: resumable with its secret, parked while away."""

    def __init__(
        self, rooms: Rooms, code: str, hosted: Hosted, name: str, ids: tuple[str, str] | None
    ) -> None:
        self.rooms = rooms
        self.code = code
        self.fork_id, self.secret = ids or (secrets.token_urlsafe(9), secrets.token_urlsafe(24))
        self.name = name
        tracker = RowTracker(self.fork_id, name)
        self.sink = ForkSink(tracker, Reporter(rooms.broker, code, tracker))
        self.driver = Driver(hosted, rooms.settings, self.sink)
        self.freed = False
        self._expiry: asyncio.TimerHandle | None = None

    @property
    def tracker(self) -> RowTracker:
        """Its class row."""
        return self.sink.tracker

    @property
    def client(self) -> Client | None:
        """The student's connection, while attached."""
        return self.sink.client

    def forked_frame(self) -> p.Forked:
        """What the page keeps to resume the fork."""
        grace = self.rooms.settings.fork_grace_seconds
        return p.Forked(
            code=self.code,
            fork_id=self.fork_id,
            secret=self.secret,
            name=self.name,
            grace_seconds=grace,
        )

    def owns(self, secret: str) -> bool:
        """Whether `secret` is this fork's."""
        return hmac.compare_digest(secret.encode(), self.secret.encode())

    def attach(self, client: Client, *, resumed: bool) -> None:
        """A student (back) at the fork: told its id and secret, then shown the run as it is."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        old, self.sink.client = self.sink.client, client
        if old is not None and old is not client:
            old.close_after(CLOSE_RESUMED, "this fork was resumed elsewhere")
        client.unfollow()
        client.drop_animation()  # the room's frames still queued are no longer wanted
        client.deliver(self.forked_frame())
        if resumed:
            for frame in self.sink.snapshot.frames():
                client.deliver(frame)
        self._set_connected(True)

    async def run(self, command: Command) -> str | None:
        """The student's command, on the fork; the knobs it turns reach the class row."""
        reply = await self.driver.run(command)
        hyper = retuned(command, self.sink.snapshot)
        if hyper is not None:
            self.sink.deliver(hyper)  # to the page, into the snapshot and into the class row
        elif isinstance(command, p.Rescale):
            self.tracker.retuned({"spectral_radius": command.spectral_radius})
        return reply

    async def park(self, client: Client) -> None:
        """The student's connection closed: keep the fork for the grace period, its job stopped."""
        if self.sink.client is not client or self.freed:
            return
        self.sink.client = None
        self._set_connected(False)
        await self.driver.stop_job()
        grace = self.rooms.settings.fork_grace_seconds
        self._expiry = asyncio.get_running_loop().call_later(grace, self._expire)

    def _expire(self) -> None:
        self._expiry = None
        if self.sink.client is None and not self.freed:
            self.rooms.forks.spawn(self.free())

    def _set_connected(self, connected: bool) -> None:
        self.tracker.connected = connected
        self.tracker.version += 1
        self.sink.reporter.send()  # at once: the teacher sees who is away

    async def free(self) -> None:
        """Let the fork go: its session, its place, its name for other processes."""
        if self.freed:
            return
        self.freed = True
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self.sink.client = None
        self._set_connected(False)
        self.rooms.forks.forget(self)
        await self.driver.close()
        try:
            await self.rooms.broker.owners.unserve(fork_channel(self.fork_id))
        except BROKER_ERRORS as exc:
            log.info("fork %s: %s", self.fork_id, exc)

    async def on_request(self, body: bytes) -> bytes:
        """Another process asks: for an export (the room's spotlight), or to take the fork over
        (its student resumed it there)."""
        request = orjson.loads(body)
        if request.get("op") == "export":
            return await self.exported(stop=False)
        if request.get("op") == "take":
            return await self._taken(request)
        raise ValueError(f"unknown request {request.get('op')!r}")

    async def _taken(self, request: dict[str, Any]) -> bytes:
        """Its student resumed it at another process: hand it over (an export), and go."""
        if request.get("code") != self.code:
            return orjson.dumps({"refused": "fork_id"}) + b"\n"
        if not self.owns(str(request.get("secret", ""))):
            return orjson.dumps({"refused": "secret"}) + b"\n"
        exported = await self.exported(stop=True)
        if self.client is not None:  # still open here (another tab): it has moved on
            self.client.close_after(CLOSE_RESUMED, "this fork was resumed elsewhere")
        await self.free()
        return exported

    async def exported(self, *, stop: bool) -> bytes:
        """Its meta line, its snapshot line, then its session state (a worker parses that)."""
        if stop:
            await self.driver.stop_job()
        state, packed = await self.driver.exported(self.sink.snapshot.pack)
        tracker = self.tracker
        meta = {"name": self.name, "code": self.code, "baseline": tracker.baseline}
        meta["config"] = tracker.config
        return orjson.dumps(meta) + b"\n" + packed + b"\n" + state


def split_export(raw: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """An exported fork's meta, packed snapshot and state."""
    meta, _, rest = raw.partition(b"\n")
    packed, _, state = rest.partition(b"\n")
    return orjson.loads(meta), packed, state
