"""The engine side of a live stream: one session, its lock, its background job, its command table.

A driver runs commands against its session and delivers every frame they produce to a sink: the
client of a private session, or a room's broadcast to its viewers. What each command does is one
row of `ROUTES`: the session work, whether it first stops the running job, and where it runs.
Play and train run as a background job while commands keep arriving; pause stops them at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import anyio
from pydantic import BaseModel

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.client import FrameSink
from app.web.settings import Settings

log = logging.getLogger("unroll.live")

TRAIN_CHUNK_SECONDS = 0.05  # a pause during training takes effect within about this long
SPECTRUM_INTERVAL_SECONDS = 0.5  # eigenvalues of a 256x256 W_hh cost tens of ms: not per chunk
REPLAY_INTERVAL_SECONDS = 2.0  # a whole sequence's frames (~200 kB at T=50, H=64) while training

# Where a command's session work runs: a worker thread keeps the event loop free for every other
# client and room (a BPTT step of a big model, its Jacobian's SVD, takes tens of ms); the loop
# itself only for work that costs next to nothing.
Where = Literal["loop", "worker"]
Work = Callable[[Session, Any], list[BaseModel]]  # the frames it produces, in order
Job = Callable[["Driver", Any, Where], Coroutine[Any, Any, None]]
Check = Callable[[Any, Settings], None]


@dataclass(frozen=True)
class Route:
    """How a driver carries out one command type: one row of ROUTES."""

    work: Work | None = None  # the session's part, done with the session's lock held
    job: Job | None = None  # a background job it starts instead (play, train)
    check: Check | None = None  # refuses a bad command before anything stops
    stops_job: bool = True  # it moves the cursor or replaces the run: play or training stop first
    where: Where = "worker"  # where `work` runs (a job: each of its chunks)
    to_sender: bool = False  # its frame is for the sender alone (an export), not the run's viewers


class Driver:
    """Runs commands on one session, one mutation at a time, and streams the frames to a sink."""

    def __init__(self, session: Session, settings: Settings, sink: FrameSink) -> None:
        self.session = session
        self.settings = settings
        self.sink = sink
        self.lock = asyncio.Lock()  # one session mutation at a time, in the order they came
        self.job: asyncio.Task[None] | None = None
        # Done once the job is to stop. A future, not an Event: a job sleeps on it without being
        # cancelled, and a cancellation's traceback would tie the driver into a reference cycle.
        self.stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def greet(self) -> None:
        """What a new viewer of the run sees first: hello, then the spectrum."""
        session = self.session
        self._show(await self.locked(lambda: [session.hello(), session.spectrum()]))

    async def locked(self, work: Callable[[], Any], *, where: Where = "worker") -> Any:
        """Run `work` on the session with the lock held, where it is told to."""
        async with self.lock:
            if where == "worker":
                return await anyio.to_thread.run_sync(work)
            return work()

    async def run(self, command: p.Command) -> BaseModel | None:
        """Carry out a command; return the frame meant for its sender alone (an export), if any."""
        route = ROUTES.get(command.type)
        if route is None:
            raise CommandRefused("bad_phase", f"{command.type} is for rooms: /ws/room/CODE")
        if route.check is not None:
            route.check(command, self.settings)
        if route.stops_job:
            await self.stop_job()
        if route.job is not None:
            self.stop = asyncio.get_running_loop().create_future()
            self.job = asyncio.create_task(route.job(self, command, route.where))
        if route.work is None:
            return None
        frames = await self.locked(partial(route.work, self.session, command), where=route.where)
        if route.to_sender:
            return frames[0]
        self._show(frames)
        return None

    def _show(self, frames: list[BaseModel], *, droppable: bool = False) -> None:
        for frame in frames:
            self.sink.deliver(frame, droppable=droppable)

    # ------------------------------------------------------------------ background jobs

    async def stop_job(self) -> None:
        """Stop play or training and wait until the session is quiet."""
        if self.job is None:
            return
        self.stop.set_result(None)
        job, self.job = self.job, None
        try:
            await job
        except Exception:
            log.exception("background job failed")

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep, waking early on a stop request; true when asked to stop."""
        await asyncio.wait([self.stop], timeout=seconds)
        return self.stop.done()

    async def play(self, command: p.Play, where: Where) -> None:
        """Advance through the teaching cycle at the command's pace until stopped."""
        interval = 1.0 / command.steps_per_second
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self.stop.done():
            self._show(await self.locked(self.session.advance, where=where), droppable=True)
            due += interval
            if await self._sleep_or_stop(max(0.0, due - loop.time())):
                return

    async def train(self, command: p.Train, where: Where) -> None:
        """Train in chunks of about TRAIN_CHUNK_SECONDS, so a pause takes effect at once."""
        session = self.session
        chunk, done = 1, 0
        spectrum_due = 0.0
        replay_due = anyio.current_time() + REPLAY_INTERVAL_SECONDS
        while done < command.iterations and not self.stop.done():
            size = min(chunk, command.iterations - done)
            started = anyio.current_time()
            frame = await self.locked(partial(session.train, size), where=where)
            done += size
            self.sink.deliver(frame, droppable=done < command.iterations)
            if started >= spectrum_due:
                self.sink.deliver(await self.locked(session.spectrum, where=where), droppable=True)
                spectrum_due = started + SPECTRUM_INTERVAL_SECONDS
            if started >= replay_due:  # the views show the latest sequence, not a blank
                self.sink.deliver(await self.locked(session.replay, where=where), droppable=True)
                replay_due = started + REPLAY_INTERVAL_SECONDS
            elapsed = anyio.current_time() - started
            chunk = max(1, min(4 * chunk, int(size * TRAIN_CHUNK_SECONDS / max(elapsed, 1e-6))))
            await anyio.sleep(0)
        self._show(
            await self.locked(
                lambda: [session.sequence(), session.spectrum(), session.replay()], where=where
            )
        )


def _within_train_cap(command: p.Train, settings: Settings) -> None:
    cap = settings.max_train_iterations
    if command.iterations > cap:
        raise CommandRefused("out_of_range", f"at most {cap} per command", "iterations")


def _set_hyper(session: Session, command: p.SetHyper) -> list[BaseModel]:
    session.set_hyper(command)
    return []


# Every command a driver runs; the room commands (join, fork, end_room) are a seat's.
ROUTES: dict[str, Route] = {
    # A new run: its hello, then its spectrum.
    "configure": Route(lambda s, c: [s.configure(c.config), s.spectrum()]),
    "reset": Route(lambda s, c: [s.reset(), s.spectrum()]),
    "import": Route(lambda s, c: [s.import_state(c.state), s.spectrum()]),
    "use_text": Route(lambda s, c: [s.use_text(c.text), s.spectrum()]),
    "use_upload": Route(lambda s, c: [s.use_upload(c), s.spectrum()]),
    # The teaching cycle by hand, and the lab's rescaling of W_hh. A step is sub-ms for the
    # models pages use, and a thread hop costs more (the thread waits for the GIL behind the
    # loop): bench/load.py at 100 clients, steps on the loop: 0.46 server cores, p50 1.5-2.3 ms;
    # in threads: 0.68-0.82 cores, p50 4-190 ms.
    "step_forward": Route(lambda s, c: [s.step_forward()], where="loop"),
    "step_backward": Route(lambda s, c: [s.step_backward()], where="loop"),
    "advance": Route(lambda s, c: s.advance(), where="loop"),
    "finish_iteration": Route(lambda s, c: s.finish_iteration()),
    "rescale": Route(lambda s, c: s.rescale(c.spectral_radius)),
    # Background jobs.
    "play": Route(job=Driver.play),
    "train": Route(job=Driver.train, check=_within_train_cap),
    "pause": Route(),
    # Beside a running job, which goes on.
    "sample": Route(lambda s, c: [s.sample(c)], stops_job=False),
    "diagnose": Route(lambda s, c: [s.diagnose()], stops_job=False),
    "export": Route(lambda s, c: [s.export()], stops_job=False, to_sender=True),
    "export_script": Route(lambda s, c: [s.export_script(c)], stops_job=False, to_sender=True),
    "set_hyper": Route(_set_hyper, stops_job=False, where="loop"),  # a few numbers
}
