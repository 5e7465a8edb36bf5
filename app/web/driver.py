"""The engine side of a live stream: one session, its lock, its background job, its command table.

A driver runs commands against its session, which lives in a worker process (app/web/workers),
and delivers the frames they produce, encoded there, to a sink: the client of a private session,
or a room's broadcast to its viewers. What each command does is one row of `ROUTES`: the session
work (the worker runs it), whether it first stops the running job, and its lane in the worker's
queue. Play and train run as a background job of short slices while commands keep arriving;
pause stops them at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from app import protocol as p
from app.run.shelf import UploadFile
from app.session import CommandRefused, Session
from app.web.client import FrameSink
from app.web.settings import Settings
from app.web.workers.messages import Encoded, Lane, Reply, SealedImport

if TYPE_CHECKING:
    from app.web.workers.hosted import Hosted

log = logging.getLogger("unroll.live")

SPECTRUM_INTERVAL_SECONDS = 0.5  # eigenvalues of a 256x256 W_hh cost tens of ms: not per slice
REPLAY_INTERVAL_SECONDS = 2.0  # a whole sequence's frames (~200 kB at T=50, H=64) while training

Command = p.Command | SealedImport  # a command, or an import its worker is yet to read
Work = Callable[[Session, Any], list[BaseModel]]  # the frames it produces, in order
Job = Callable[["Driver", Any], Coroutine[Any, Any, None]]
Check = Callable[[Any, Settings], None]
T = TypeVar("T")


@dataclass(frozen=True)
class Route:
    """How a driver carries out one command type: one row of ROUTES."""

    work: Work | None = None  # the session's part, done in its worker with the session's lock held
    job: Job | None = None  # a background job it starts instead (play, train)
    check: Check | None = None  # refuses a bad command before anything stops
    stops_job: bool = True  # it moves the cursor or replaces the run: play or training stop first
    # "interactive": its worker runs it before any batch work waiting there (a step, a knob);
    # batch work waits its turn, and a client waiting long is told its place.
    lane: Lane = "batch"
    big_input: bool = False  # megabytes to parse (an import, an upload's data): in a heavy worker
    to_sender: bool = False  # its frame is for the sender alone (an export), not the run's viewers


def tell_place(sink: FrameSink, place: int) -> None:
    """Work of this run waits in its worker's queue: the viewers see how many are ahead."""
    sink.deliver(p.Queued(reason="workers", position=place), droppable=True)


class Driver:
    """Runs commands on one hosted session, one at a time, and streams the frames to a sink."""

    def __init__(self, hosted: Hosted, settings: Settings, sink: FrameSink) -> None:
        self.hosted = hosted
        self.settings = settings
        self.sink = sink
        hosted.notify = partial(tell_place, sink)  # the sink, not the driver: no cycle
        self.lock = asyncio.Lock()  # one session request at a time, in the order they came
        self.job: asyncio.Task[None] | None = None
        # Done once the job is to stop. A future, not an Event: a job sleeps on it without being
        # cancelled, and a cancellation's traceback would tie the driver into a reference cycle.
        self.stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def greet(self) -> None:
        """What a new viewer of the run sees first: hello, then the spectrum."""
        self._show(await self._call(("hello",), ("spectrum",)))

    async def run(self, command: Command) -> str | None:
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
            self.job = asyncio.create_task(route.job(self, command))
        if route.work is None:
            return None
        async with self.lock:
            await asyncio.sleep(self._cpu_wait())
            reply = await self.hosted.command(command, route.lane, route.big_input)
        if reply.command_id is not None:  # an import read in the worker: its id is known now
            command.id = reply.command_id
        frames = _frames(reply, command.type)
        if route.to_sender:
            return frames[0].text
        self._show(frames)
        return None

    async def exported(self, beside: Callable[[], T]) -> tuple[bytes, T]:
        """The whole session as JSON, and what `beside` returns at the same moment."""
        async with self.lock:
            reply = await self.hosted.export()
            _frames(reply, "export")
            assert reply.state is not None
            return reply.state, beside()

    async def upload(self, file: UploadFile) -> Reply:
        """Read an uploaded file onto the session's shelf, in its worker, in turn with commands."""
        async with self.lock:
            return await self.hosted.upload(file)

    async def close(self) -> None:
        """Stop the job and free the session in its worker."""
        await self.stop_job()
        async with self.lock:
            await self.hosted.close()

    def _show(self, frames: list[Encoded], *, droppable: bool = False) -> None:
        for frame in frames:
            self.sink.deliver(frame, droppable=droppable)

    async def _call(self, *calls: tuple[Any, ...], lane: Lane = "batch") -> list[Encoded]:
        """Session methods, with the lock held; their frames."""
        async with self.lock:
            reply = await self.hosted.call(*calls, lane=lane)
        return _frames(reply, calls[0][0])

    def _cpu_wait(self) -> float:
        """Seconds this client waits for its CPU share (its viewers are told); 0: none."""
        wait = self.hosted.cpu.wait()
        if wait > 0:
            self.sink.deliver(p.Queued(reason="cpu", seconds=wait), droppable=True)
        return wait

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

    async def play(self, command: p.Play) -> None:
        """Advance through the teaching cycle at the command's pace until stopped."""
        interval = 1.0 / command.steps_per_second
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not await self._sleep_or_stop(self._cpu_wait()):
            self._show(await self._call(("advance",), lane="interactive"), droppable=True)
            due += interval
            if await self._sleep_or_stop(max(0.0, due - loop.time())):
                return

    async def train(self, command: p.Train) -> None:
        """Train in slices of about the worker's slice length, so a pause takes effect at once."""
        loop = asyncio.get_running_loop()
        chunk, done = 1, 0
        spectrum_due = 0.0
        replay_due = loop.time() + REPLAY_INTERVAL_SECONDS
        while done < command.iterations and not await self._sleep_or_stop(self._cpu_wait()):
            size = min(chunk, command.iterations - done)
            started = loop.time()
            spectrum = [("spectrum",)] if started >= spectrum_due else []
            replay = [("replay",)] if started >= replay_due else []  # the views show the latest
            async with self.lock:
                reply = await self.hosted.call(("train", size), *spectrum, *replay)
            progress, *shown = _frames(reply, "train")
            done += size
            self.sink.deliver(progress, droppable=done < command.iterations)
            self._show(shown, droppable=True)
            if spectrum:
                spectrum_due = started + SPECTRUM_INTERVAL_SECONDS
            if replay:
                replay_due = started + REPLAY_INTERVAL_SECONDS
            rate = self.hosted.slice_seconds / max(reply.cpu, 1e-6)
            chunk = max(1, min(4 * chunk, int(size * rate)))
        self._show(await self._call(("sequence",), ("spectrum",), ("replay",)))


def _frames(reply: Reply, what: str) -> list[Encoded]:
    """A reply's frames, or the refusal it brings."""
    if reply.refusal is not None:
        refusal = reply.refusal
        raise CommandRefused(refusal.code, refusal.message, refusal.field)
    if reply.failed or reply.misplaced:
        raise RuntimeError(f"the worker failed to run {what}")
    return reply.frames


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
    "import": Route(lambda s, c: [s.import_state(c.state), s.spectrum()], big_input=True),
    "use_text": Route(lambda s, c: [s.use_text(c.text), s.spectrum()]),
    # Uploaded data read in a loaded model's vocabulary: megabytes of text to cut again.
    "use_upload": Route(lambda s, c: [s.use_upload(c), s.spectrum()], big_input=True),
    # The teaching cycle by hand, and the lab's rescaling of W_hh. A step of a light run is
    # sub-ms: it goes before any batch work waiting in its worker.
    "step_forward": Route(lambda s, c: [s.step_forward()], lane="interactive"),
    "step_backward": Route(lambda s, c: [s.step_backward()], lane="interactive"),
    "advance": Route(lambda s, c: s.advance(), lane="interactive"),
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
    "set_hyper": Route(_set_hyper, stops_job=False, lane="interactive"),  # a few numbers
}
