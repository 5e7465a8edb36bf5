"""The server's side of its workers: starting them, placing sessions, the memory ledgers.

Workers are started from a fork server that has already imported the engine, so a new one
costs a fork, not an interpreter start. Each Link keeps the requests its worker is on, in the
order the worker will run them, so a client waiting behind others can be told its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import socket
from collections.abc import Callable
from dataclasses import dataclass

from app.web.sessions import limits_from
from app.web.settings import Settings
from app.web.workers import host, machine
from app.web.workers.hosted import Hosted
from app.web.workers.messages import (
    HEADER,
    Claim,
    Granted,
    Lane,
    Reply,
    Request,
    WorkerLost,
    frame_message,
)

log = logging.getLogger("unroll.workers")

CONTEXT = multiprocessing.get_context("forkserver")
NOTICE_SECONDS = 0.25  # a request waiting longer than this tells its client its place
BUDGET_SHARE = 0.8  # of the machine's (or container's) memory, by default
Notify = Callable[[int], None]  # told a waiting request's place in its worker's queue


@dataclass
class Pending:
    """A request sent to a worker and not answered yet."""

    key: int  # the session it is for
    op: str
    lane: Lane
    future: asyncio.Future[Reply]
    notify: Notify | None
    shown: int = 0  # the place last told (0: never told, or running now)
    timer: asyncio.TimerHandle | None = None


class Link:
    """One worker process as the server sees it: its socket and the requests it is on."""

    def __init__(self, workers: Workers, heavy: bool) -> None:
        self.workers = workers
        self.heavy = heavy
        self.sessions = 0
        self.pending: dict[int, Pending] = {}  # in the order they were sent
        self.lost = False
        ours, theirs = socket.socketpair()
        settings = workers.settings
        nice = settings.heavy_nice if heavy else settings.light_nice
        args = (theirs, limits_from(settings), settings.max_import_bytes, nice)
        self.process = CONTEXT.Process(target=host.run, args=args, daemon=True)
        self.process.start()
        theirs.close()
        self._socket = ours
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Start reading the worker's replies, on the running event loop (its server's)."""
        self.loop = asyncio.get_running_loop()
        reader, self.writer = await asyncio.open_unix_connection(sock=self._socket)
        self._reader = asyncio.create_task(self._read(reader))

    async def request(self, request: Request, notify: Notify | None = None) -> Reply:
        """Send a request; its reply once the worker has done it."""
        if self.lost:
            raise WorkerLost("the worker holding this session stopped")
        future = asyncio.get_running_loop().create_future()
        pending = Pending(request.key, request.op, request.lane, future, notify)
        self.pending[request.id] = pending
        if notify is not None and request.lane == "batch":
            pending.timer = asyncio.get_running_loop().call_later(
                NOTICE_SECONDS, self._tell, request.id
            )
        self.writer.write(frame_message(request))
        await self.writer.drain()  # a large import waits for the socket, not the loop's memory
        return await future

    def place(self, request_id: int) -> int:
        """Requests the worker runs before this batch request: those sent earlier, and every
        interactive one (they jump the queue). 0: it is running."""
        ids = list(self.pending)
        index = ids.index(request_id)
        return index + sum(self.pending[i].lane == "interactive" for i in ids[index + 1 :])

    def _tell(self, request_id: int) -> None:
        pending = self.pending.get(request_id)
        if pending is None or pending.notify is None:
            return
        place = self.place(request_id)
        if place != pending.shown:
            pending.shown = place
            pending.notify(place)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                message = pickle.loads(await reader.readexactly(size))
                if isinstance(message, Claim):
                    self.writer.write(frame_message(Granted(self.workers.claim(message))))
                else:
                    self._answer(message)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._lose()

    def _answer(self, reply: Reply) -> None:
        pending = self.pending.pop(reply.id)
        if pending.timer is not None:
            pending.timer.cancel()
        self.workers.settle(pending.key, reply)
        if pending.shown and pending.notify is not None:
            pending.notify(0)  # no longer waiting
        if not pending.future.done():
            pending.future.set_result(reply)
        elif pending.op == "open" and reply.bytes:  # its opener went away meanwhile
            self._orphaned(pending.key)
        for request_id, other in self.pending.items():
            if other.shown:
                self._tell(request_id)

    def _orphaned(self, key: int) -> None:
        """Close a session nobody holds (its opener was cancelled while it opened)."""
        closing = Request(self.workers.next_id(), "close", key, lane="interactive")
        future = asyncio.get_running_loop().create_future()
        self.pending[closing.id] = Pending(key, "close", "interactive", future, None)
        self.writer.write(frame_message(closing))

    def _lose(self) -> None:
        """The worker is gone: every request waiting on it fails; unless the server is
        stopping it, another worker takes its place."""
        stopping, self.lost = self.lost, True
        for pending in self.pending.values():
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_exception(WorkerLost("the worker holding this session stopped"))
        self.pending.clear()
        if not stopping:
            self.workers.replace(self)

    async def close(self) -> None:
        """Hang up; the worker exits when it reads the end of its socket."""
        self.lost = True
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await asyncio.to_thread(self.process.join, 10)
        if self.process.is_alive():
            self.process.kill()


class Workers:
    """The worker processes of one server, where each session lives, and the memory ledger."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.links: list[Link] = []
        machine_share = int(BUDGET_SHARE * machine.memory_limit())
        self.budget = settings.memory_budget_mb * 2**20 or machine_share
        self.baseline = 0  # what the processes take with no session
        self.committed: dict[int, int] = {}  # each session's estimate, by key
        self.reserved: dict[int, int] = {}  # memory claimed by requests under way, by request
        self.uploads: dict[int, int] = {}  # what each session's uploads hold (of committed)
        self.reading = 0  # memory uploaded files take while their workers read them
        self._ids = itertools.count(1)
        self._replacing: set[asyncio.Task[Link]] = set()

    async def start(self) -> None:
        """Start a light and a heavy worker per core (or as many as the settings say)."""
        CONTEXT.set_forkserver_preload([host.__name__])
        count = self.settings.workers or machine.cores()
        heavy = self.settings.heavy_workers or machine.cores()
        for kind in [False] * count + [True] * heavy:
            await self._start(kind)
        self.baseline = machine.tree_rss(os.getpid())

    async def _start(self, heavy: bool) -> Link:
        link = Link(self, heavy)
        await link.connect()
        self.links.append(link)
        return link

    def _ours(self) -> list[Link]:
        """The workers of the server running on this event loop (an app restarted in the same
        process may briefly have two: the one stopping, and the one starting)."""
        loop = asyncio.get_running_loop()
        return [link for link in self.links if link.loop is loop]

    async def stop(self) -> None:
        """Stop this server's workers."""
        links = self._ours()
        self.links = [link for link in self.links if link not in links]
        await asyncio.gather(*(link.close() for link in links))

    def next_id(self) -> int:
        """A fresh request or session key."""
        return next(self._ids)

    def pick(self, heavy: bool) -> Link:
        """The worker of that kind holding the fewest sessions."""
        kind = [link for link in self._ours() if link.heavy == heavy and not link.lost]
        if not kind:
            raise WorkerLost("no worker is running")
        return min(kind, key=lambda link: link.sessions)

    @property
    def free(self) -> int:
        """Memory the server-wide budget still has for sessions."""
        used = self.baseline + sum(self.committed.values()) + sum(self.reserved.values())
        return self.budget - used - self.reading

    def start_reading(self, size: int) -> bool:
        """Count `size` bytes for a file about to be read, unless every session's uploads and
        the files being read would then pass their budget (max_upload_memory_bytes)."""
        held = sum(self.uploads.values()) + self.reading
        if held + size > self.settings.max_upload_memory_bytes:
            return False
        self.reading += size
        return True

    def done_reading(self, size: int) -> None:
        """A file is read (its upload now counts as its session's) or refused."""
        self.reading -= size

    def claim(self, claim: Claim) -> int | None:
        """Reserve a run's memory until its request is answered; or say what is left."""
        free = self.free
        if claim.bytes > free:
            return max(free, 0)
        self.reserved[claim.request] = self.reserved.get(claim.request, 0) + claim.bytes
        return None

    def settle(self, key: int, reply: Reply) -> None:
        """A request is done: what it claimed is released; its session weighs what it says."""
        self.reserved.pop(reply.id, None)
        if reply.bytes:
            self.committed[key] = reply.bytes
            self.uploads[key] = reply.uploads
        else:  # closed, or never opened
            self.forget(key)

    def forget(self, key: int) -> None:
        """A session lost with its worker weighs nothing any more."""
        self.committed.pop(key, None)
        self.uploads.pop(key, None)

    def replace(self, lost: Link) -> None:
        """Start a worker in place of one that stopped (its sessions are gone)."""
        if lost not in self.links:
            return
        self.links.remove(lost)
        log.error("a %s worker stopped; starting another", "heavy" if lost.heavy else "light")
        task = asyncio.get_running_loop().create_task(self._start(lost.heavy))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def open(self, state: bytes | None = None) -> Hosted:
        """A new session: the default run, or an exported state (a fork) opened where it fits."""
        hosted = Hosted(self, self.next_id())
        await hosted.open(state)
        return hosted
