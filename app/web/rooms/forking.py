"""The forks of one server process: made from a room's run, resumed here or taken over from
another process, and let go."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import orjson

from app.session import CommandRefused
from app.web.broker import BROKER_ERRORS
from app.web.rooms.forks import Fork, fork_channel, split_export
from app.web.rooms.snapshot import Snapshot

if TYPE_CHECKING:
    from app.web.rooms.registry import Rooms

FORK_OP = orjson.dumps({"op": "fork"})


def _busy(message: str) -> CommandRefused:
    return CommandRefused("server_busy", message)


class Forks:
    """This process's forks, by id."""

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms
        self.by_id: dict[str, Fork] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background (a fork's expiry), holding its task."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _check_room(self) -> None:
        registry = self.rooms.sessions
        if registry.full:
            raise _busy(f"the server is full ({registry.capacity} sessions); try again soon")

    async def create(self, code: str, nickname: str | None) -> tuple[Fork, list[str]]:
        """A copy of the room's run as it is now, and the frames its iteration showed so far."""
        self._check_room()
        try:
            exported = await self.rooms.broker.owners.request(code, FORK_OP)
        except BROKER_ERRORS as exc:
            raise CommandRefused("bad_phase", f"cannot fork room {code}: {exc}") from exc
        header, _, rest = exported.partition(b"\n")
        answer = orjson.loads(header)
        if "refused" in answer:
            raise CommandRefused("forbidden", str(answer["refused"]))
        steps, _, state = rest.partition(b"\n")
        hosted = await self.rooms.sessions.workers.open(state)  # parsed and checked in a worker
        name = nickname or f"Student {answer['number']}"
        fork = await self._register(Fork(self.rooms, code, hosted, name, None))
        return fork, orjson.loads(steps)

    async def resume(self, code: str, fork_id: str, secret: str) -> Fork:
        """The fork with this id (here, or taken over from the process holding it)."""
        fork = self.by_id.get(fork_id)
        if fork is not None and fork.code == code:
            if not fork.owns(secret):
                raise CommandRefused("forbidden", "wrong secret for this fork", "secret")
            return fork
        if fork is not None:
            raise _not_found(fork_id)
        self._check_room()
        request = orjson.dumps({"op": "take", "secret": secret, "code": code})
        try:
            raw = await self.rooms.broker.owners.request(fork_channel(fork_id), request)
        except BROKER_ERRORS as exc:
            raise _not_found(fork_id) from exc
        meta, packed, state = split_export(raw)
        if meta.get("refused") == "secret":
            raise CommandRefused("forbidden", "wrong secret for this fork", "secret")
        if "refused" in meta:  # a fork of another room
            raise _not_found(fork_id)
        hosted = await self.rooms.sessions.workers.open(state)
        fork = Fork(self.rooms, code, hosted, str(meta["name"]), (fork_id, secret))
        fork.sink.snapshot = snapshot = Snapshot.unpack(packed)
        tracker = fork.tracker
        tracker.baseline = meta.get("baseline")
        for kind, data in snapshot.run_messages():
            tracker.see(kind, data.encode())
        tracker.config.update(meta.get("config") or {})
        return await self._register(fork)

    async def _register(self, fork: Fork) -> Fork:
        registry = self.rooms.sessions
        if not registry.try_add(fork):
            await fork.driver.close()
            raise _busy("the server filled up meanwhile; try again soon")
        self.by_id[fork.fork_id] = fork
        try:
            channel = fork_channel(fork.fork_id)
            await self.rooms.broker.owners.serve(channel, _ignore, fork.on_request)
        except BROKER_ERRORS:  # resumable here only, and not shown to the class: still a fork
            pass
        return fork

    def forget(self, fork: Fork) -> None:
        """A fork was freed."""
        if self.by_id.get(fork.fork_id) is fork:
            del self.by_id[fork.fork_id]
        self.rooms.sessions.remove(fork)

    async def stop(self) -> None:
        """The server stops: every fork goes."""
        await asyncio.gather(*(fork.free() for fork in list(self.by_id.values())))


def _ignore(body: bytes) -> None:
    """A fork takes no notes."""


def _not_found(fork_id: str) -> CommandRefused:
    message = f"fork {fork_id} is gone (its grace period ended, or it was left)"
    return CommandRefused("not_found", message, "fork_id")
