"""One session living in a worker, as its driver sees it: requests in, encoded frames out.

A session lives in a light worker while its run is light (every request short) and in a heavy
one otherwise. A light worker refuses to open a heavy run (the budget check says Misplaced):
the session then moves to a heavy worker, and moves back once its run is light again. A move
is an export and an import, which reproduces the run exactly (app/run/snapshot.py); the
session's id and its shelf of uploads go along. Megabytes to parse (an import, an uploaded
file) are parsed in a heavy worker, so a light one only ever runs short requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.run.refusal import CommandRefused
from app.run.shelf import UploadFile
from app.web.workers.messages import Grant, Lane, Op, Reply, Request

if TYPE_CHECKING:
    from app.web.workers.pool import Link, Workers

LIGHT_SECONDS = 0.05  # a light worker's runs: each request takes at most about this long
LIGHT_SLICE_SECONDS = 0.01  # a job's slice in a light worker: a neighbour waits at most this
HEAVY_SLICE_SECONDS = 0.05  # and in a heavy one: a pause takes effect within about this long


class CpuShare:
    """A client's share of the workers: a bucket of CPU seconds refilled at `share` cores."""

    def __init__(self, share: float, burst: float) -> None:
        self.share = share
        self.burst = burst
        self._tokens = burst
        self._last = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.share)
        self._last = now

    def charge(self, seconds: float) -> None:
        """Count CPU seconds a request of this client took."""
        self._refill()
        self._tokens -= seconds

    def wait(self) -> float:
        """Seconds until this client may use a worker again (0: now)."""
        self._refill()
        return 0.0 if self._tokens >= 0 else -self._tokens / self.share


class Hosted:
    """A session in a worker: its key there, and the requests a driver sends it."""

    def __init__(self, workers: Workers, key: int) -> None:
        self.workers = workers
        self.key = key
        self.link: Link | None = None
        self.session_id: str | None = None  # the page's name for it (its hello's), once open
        self.notify: Callable[[int], None] | None = None  # told its place when it waits
        settings = workers.settings
        self.cpu = CpuShare(settings.client_cpu_share, settings.client_cpu_burst_seconds)
        self.requests = 0  # answered so far
        self.seconds = 0.0  # the run's longest request, as its worker estimated it

    @property
    def heavy(self) -> bool:
        """Whether it lives in a heavy worker."""
        return self.link is not None and self.link.heavy

    @property
    def slice_seconds(self) -> float:
        """How long one slice of a background job should take where it lives."""
        return HEAVY_SLICE_SECONDS if self.heavy else LIGHT_SLICE_SECONDS

    async def open(self, state: bytes | None = None) -> None:
        """Open the default run, or an exported state; parsing a state is heavy work."""
        reply = await self._open_in(self.workers.pick(heavy=state is not None), state, None)
        if reply is not None:
            raise _refused(reply)
        await self._place()

    async def command(self, command: Any, lane: Lane, big_input: bool) -> Reply:
        """A row of the command table, carried out in the session's worker."""
        failed = await self._move(heavy=True) if big_input and not self.heavy else None
        if failed is not None:
            return failed
        reply = await self._send("command", command, lane)
        if reply.misplaced:  # the new run is too heavy for a light worker
            failed = await self._move(heavy=True)
            reply = failed or await self._send("command", command, lane)
        await self._place()
        return reply

    async def upload(self, file: UploadFile) -> Reply:
        """Read an uploaded file onto the session's shelf, in a heavy worker (it may take a
        while to parse); the session goes back to a light one with its next command."""
        failed = await self._move(heavy=True) if not self.heavy else None
        return failed or await self._send("upload", file, "batch")

    async def call(self, *calls: tuple[Any, ...], lane: Lane = "batch") -> Reply:
        """Session methods in a row, each a (name, *args) tuple; their frames in order."""
        return await self._send("call", calls, lane)

    async def export(self, *, with_uploads: bool = False) -> Reply:
        """The whole session as JSON (its reply's `state`); its shelf too, for a move."""
        return await self._send("export", with_uploads, "batch")

    async def close(self) -> None:
        """Free the session in its worker."""
        link, self.link = self.link, None
        if link is not None and not link.lost:
            link.sessions -= 1
            await link.request(self._request("close", None, "interactive", link))
        else:  # its worker is gone, and the session with it
            self.workers.forget(self.key)

    async def _send(self, op: Op, payload: Any, lane: Lane) -> Reply:
        link = self.link
        if link is None:
            raise CommandRefused("bad_phase", "this session is closed")
        return self._count(await link.request(self._request(op, payload, lane, link), self.notify))

    def _count(self, reply: Reply) -> Reply:
        self.cpu.charge(reply.cpu)
        self.requests += 1
        if reply.seconds:
            self.seconds = reply.seconds
        return reply

    def _request(self, op: Op, payload: Any, lane: Lane, link: Link) -> Request:
        budget = self.workers.settings.session_memory_mb * 2**20
        grant = Grant(budget, None if link.heavy else LIGHT_SECONDS)
        return Request(self.workers.next_id(), op, self.key, payload, lane, grant)

    async def _open_in(self, link: Link, state: bytes | None, moved: Reply | None) -> Reply | None:
        """Open the session in `link`'s worker (a moved one with its id and uploads); the
        refusal if it cannot be."""
        payload = (state, None, None) if moved is None else (state, moved.session_id, moved.shelf)
        request = self._request("open", payload, "batch", link)
        reply = self._count(await link.request(request, self.notify))
        if reply.refusal is not None or reply.failed or reply.misplaced:
            return reply
        link.sessions += 1
        self.link = link
        self.session_id = reply.session_id
        return None

    async def _place(self) -> None:
        """A light run in a heavy worker moves to a light one (its requests are short)."""
        if self.heavy and 0 < self.seconds <= LIGHT_SECONDS:
            await self._move(heavy=False)

    async def _move(self, heavy: bool) -> Reply | None:
        """Move to the other kind of worker; the failed reply if it could not."""
        exported = await self.export(with_uploads=True)
        if exported.state is None:
            return exported
        old_link, old_key = self.link, self.key
        self.key = self.workers.next_id()
        failed = await self._open_in(self.workers.pick(heavy), exported.state, exported)
        if failed is not None:
            self.key = old_key
            return failed
        assert old_link is not None
        old_link.sessions -= 1
        closing = Request(self.workers.next_id(), "close", old_key, lane="interactive")
        await old_link.request(closing)
        return None


def _refused(reply: Reply) -> CommandRefused:
    """The refusal a failed open stands for."""
    if reply.refusal is not None:
        return CommandRefused(reply.refusal.code, reply.refusal.message, reply.refusal.field)
    return CommandRefused("internal", "the server failed to open a session")
