"""The engine side of a live stream: one session, its lock and its background job.

A driver runs commands against its session and shows every frame they produce to a sink: the one
connection of a private session, or a room that fans the frames out to its students. Play and
train run as a background job while commands keep arriving; pause stops them at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, Protocol

import anyio
from pydantic import BaseModel

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.settings import Settings

log = logging.getLogger("unroll.live")

TRAIN_CHUNK_SECONDS = 0.05  # a pause during training takes effect within about this long
SPECTRUM_INTERVAL_SECONDS = 0.5  # eigenvalues of a 256x256 W_hh cost tens of ms: not per chunk


class FrameSink(Protocol):
    """Where a driver's frames go."""

    def show(self, frame: BaseModel, *, droppable: bool = False) -> None:
        """Send a frame; droppable frames are animation a slow viewer may miss."""


class Driver:
    """Runs commands on one session, one mutation at a time, and streams the frames to a sink."""

    def __init__(self, session: Session, settings: Settings, sink: FrameSink) -> None:
        self.session = session
        self.settings = settings
        self.sink = sink
        self.lock = asyncio.Lock()  # one session mutation at a time (job chunks vs commands)
        self.job: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()

    def greet(self) -> None:
        """What a new viewer of the run sees first: hello, then the spectrum."""
        self.sink.show(self.session.hello())
        self.sink.show(self.session.spectrum())

    async def locked(self, work: Callable[[], Any], *, in_thread: bool = False) -> Any:
        """Run `work` on the session with the lock held (in a worker thread if it is heavy)."""
        async with self.lock:
            if in_thread:
                return await anyio.to_thread.run_sync(work)
            return work()

    async def run(self, command: p.Command) -> BaseModel | None:
        """Carry out a command; return the frame meant for its sender alone (an export), if any."""
        session = self.session
        show = self.sink.show
        match command:
            case p.Configure(config=config):
                await self.stop_job()
                await self._restart(lambda: session.configure(config))
            case p.Reset():
                await self.stop_job()
                await self._restart(session.reset)
            case p.Import(state=state):
                await self.stop_job()
                await self._restart(lambda: session.import_state(state))
            case p.Export():
                frame: BaseModel = await self.locked(session.export, in_thread=True)
                return frame
            case p.SetHyper():
                await self.locked(lambda: session.set_hyper(command))
            case p.Sample():
                show(await self.locked(lambda: session.sample(command), in_thread=True))
            case p.UseText(text=text):
                await self.stop_job()
                await self._restart(lambda: session.use_text(text))
            case p.Rescale(spectral_radius=radius):
                await self.stop_job()
                for frame in await self.locked(lambda: session.rescale(radius), in_thread=True):
                    show(frame)
            case p.Diagnose():
                show(await self.locked(session.diagnose, in_thread=True))
            case p.StepForward():
                await self.stop_job()
                show(await self.locked(session.step_forward))
            case p.StepBackward():
                await self.stop_job()
                show(await self.locked(session.step_backward))
            case p.Advance():
                await self.stop_job()
                for frame in await self.locked(session.advance):
                    show(frame)
            case p.FinishIteration():
                await self.stop_job()
                for frame in await self.locked(session.finish_iteration, in_thread=True):
                    show(frame)
            case p.Play(steps_per_second=speed):
                await self._start_job(lambda: self._play(speed))
            case p.Pause():
                await self.stop_job()
            case p.Train(iterations=iterations):
                cap = self.settings.max_train_iterations
                if iterations > cap:
                    raise CommandRefused("out_of_range", f"at most {cap} per command", "iterations")
                await self._start_job(lambda: self._train(iterations))
            case _:
                raise CommandRefused("bad_phase", f"{command.type} is for rooms: /ws/room/CODE")
        return None

    async def _restart(self, restart: Callable[[], p.Hello]) -> None:
        """A new run (configure, reset, import): its hello, then its spectrum."""
        hello = await self.locked(restart, in_thread=True)
        self.sink.show(hello)
        self.sink.show(await self.locked(self.session.spectrum, in_thread=True))

    # ------------------------------------------------------------------ background jobs

    async def _start_job(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        await self.stop_job()
        self.stop = asyncio.Event()
        self.job = asyncio.create_task(job())

    async def stop_job(self) -> None:
        """Stop play or training and wait until the session is quiet."""
        if self.job is None:
            return
        self.stop.set()
        job, self.job = self.job, None
        try:
            await job
        except Exception:
            log.exception("background job failed")

    @property
    def busy(self) -> bool:
        """Whether play or training is running."""
        return self.job is not None and not self.job.done()

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep, waking early on a stop request; true when asked to stop."""
        with anyio.move_on_after(seconds):
            await self.stop.wait()
        return self.stop.is_set()

    async def _play(self, steps_per_second: float) -> None:
        interval = 1.0 / steps_per_second
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self.stop.is_set():
            # In a worker thread: a BPTT step of a big model (its Jacobian's SVD) takes tens of
            # ms, and the event loop serves every other client and room meanwhile.
            for frame in await self.locked(self.session.advance, in_thread=True):
                self.sink.show(frame, droppable=True)
            due += interval
            if await self._sleep_or_stop(max(0.0, due - loop.time())):
                return

    async def _train(self, iterations: int) -> None:
        session = self.session
        chunk, done = 1, 0
        spectrum_due = 0.0
        while done < iterations and not self.stop.is_set():
            size = min(chunk, iterations - done)
            started = anyio.current_time()
            frame = await self.locked(partial(session.train, size), in_thread=True)
            done += size
            self.sink.show(frame, droppable=done < iterations)
            if started >= spectrum_due:
                self.sink.show(await self.locked(session.spectrum), droppable=True)
                spectrum_due = started + SPECTRUM_INTERVAL_SECONDS
            elapsed = anyio.current_time() - started
            # Grow or shrink the chunk so each takes about TRAIN_CHUNK_SECONDS.
            chunk = max(1, min(4 * chunk, int(size * TRAIN_CHUNK_SECONDS / max(elapsed, 1e-6))))
            await anyio.sleep(0)
        self.sink.show(session.sequence())
        self.sink.show(session.spectrum())
