"""The websocket endpoint: one session per connection, a reader and a writer task.

The reader validates each command through the protocol and runs it; the writer drains a bounded
outbox, so a slow client never slows the server or other clients. Play and train run as a
background job of the connection while commands keep arriving; pause stops them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.connection import ClientNotReading, Outbox, RateLimiter
from app.web.settings import Settings

log = logging.getLogger("unroll.live")
router = APIRouter()

CLOSE_POLICY = 1008  # origin refused, or a client that floods without reading
CLOSE_TRY_AGAIN = 1013  # server full
TRAIN_CHUNK_SECONDS = 0.05  # a pause during training takes effect within about this long
SPECTRUM_INTERVAL_SECONDS = 0.5  # eigenvalues of a 256x256 W_hh cost tens of ms: not per chunk


def limits_from(settings: Settings) -> p.Limits:
    """The caps the hello frame tells the client."""
    return p.Limits(
        max_hidden_size=settings.max_hidden_size,
        max_seq_len=settings.max_seq_len,
        max_vocab=settings.max_vocab,
        max_batch=settings.max_batch,
        max_train_iterations=settings.max_train_iterations,
        max_message_bytes=settings.max_message_bytes,
        max_commands_per_second=settings.max_commands_per_second,
    )


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Same origin by default; browsers send Origin, and CORS does not guard websockets."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (scripts, tests): cross-site hijacking needs a browser
    origin = origin.rstrip("/")
    if origin in settings.origin_list():
        return True
    host = websocket.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


class SessionRegistry:
    """Live connections of this server, capped by settings."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.live: set[LiveConnection] = set()

    def try_add(self, connection: LiveConnection) -> bool:
        """Register a connection unless the server is full."""
        if len(self.live) >= self.capacity:
            return False
        self.live.add(connection)
        return True

    def remove(self, connection: LiveConnection) -> None:
        """Forget a closed connection."""
        self.live.discard(connection)


class LiveConnection:
    """One browser tab driving one session."""

    def __init__(self, websocket: WebSocket, session: Session, settings: Settings) -> None:
        self.websocket = websocket
        self.session = session
        self.settings = settings
        self.outbox = Outbox(settings.send_queue_frames)
        self.limiter = RateLimiter(settings.max_commands_per_second)
        self.lock = asyncio.Lock()  # one session mutation at a time (job chunks vs commands)
        self.job: asyncio.Task[None] | None = None
        self.stop = asyncio.Event()

    # ------------------------------------------------------------------ plumbing

    def send(self, frame: BaseModel, *, droppable: bool = False) -> None:
        """Encode once and queue."""
        self.outbox.put(p.encode(frame).decode(), droppable=droppable)

    async def run(self) -> None:
        """Serve until the client goes away."""
        self.send(self.session.hello())
        self.send(self.session.spectrum())
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._write)
                await self._read()
                group.cancel_scope.cancel()
        except* ClientNotReading as group:
            log.warning("closing session %s: %s", self.session.id, group.exceptions[0])
            await self._close(CLOSE_POLICY, "client is not reading its replies")
        finally:
            await self._stop_job()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self.websocket.close(code=code, reason=reason)

    async def _write(self) -> None:
        while True:
            data = await self.outbox.get()
            try:
                await self.websocket.send_text(data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # the client is gone; the reader sees the disconnect

    async def _read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            await self._handle_raw(raw)

    async def _handle_raw(self, raw: str | bytes) -> None:
        settings = self.settings
        command = p.parse_command(raw, settings.max_message_bytes, settings.max_import_bytes)
        if isinstance(command, p.Error):
            self.send(command)
            return
        if not self.limiter.allow():
            rate = self.settings.max_commands_per_second
            message = f"more than {rate:g} commands per second; slow down"
            self.send(p.Error(code="rate_limited", message=message, command_id=command.id))
            return
        try:
            await self._dispatch(command)
        except CommandRefused as refusal:
            self.send(refusal.frame(command.id))
            return
        except ClientNotReading:
            raise
        except Exception:  # the session survives a bug in one command
            log.exception("command %s failed", command.type)
            message = f"the server failed to run {command.type}; the session is unchanged"
            self.send(p.Error(code="internal", message=message, command_id=command.id))
            return
        self.send(p.Ack(command=command.type, command_id=command.id))

    # ------------------------------------------------------------------ commands

    async def _locked(self, work: Callable[[], Any], *, in_thread: bool = False) -> Any:
        async with self.lock:
            if in_thread:
                return await anyio.to_thread.run_sync(work)
            return work()

    async def _dispatch(self, command: p.Command) -> None:
        session = self.session
        match command:
            case p.Configure(config=config):
                await self._stop_job()
                await self._restart(lambda: session.configure(config))
            case p.Reset():
                await self._stop_job()
                await self._restart(session.reset)
            case p.Import(state=state):
                await self._stop_job()
                await self._restart(lambda: session.import_state(state))
            case p.Export():
                self.send(await self._locked(session.export, in_thread=True))
            case p.SetHyper():
                await self._locked(lambda: session.set_hyper(command))
            case p.Sample():
                self.send(await self._locked(lambda: session.sample(command), in_thread=True))
            case p.StepForward():
                await self._stop_job()
                self.send(await self._locked(session.step_forward))
            case p.StepBackward():
                await self._stop_job()
                self.send(await self._locked(session.step_backward))
            case p.Advance():
                await self._stop_job()
                for frame in await self._locked(session.advance):
                    self.send(frame)
            case p.FinishIteration():
                await self._stop_job()
                frames = await self._locked(session.finish_iteration, in_thread=True)
                for frame in frames:
                    self.send(frame)
            case p.Play(steps_per_second=speed):
                await self._start_job(lambda: self._play(speed))
            case p.Pause():
                await self._stop_job()
            case p.Train(iterations=iterations):
                cap = self.settings.max_train_iterations
                if iterations > cap:
                    raise CommandRefused("out_of_range", f"at most {cap} per command", "iterations")
                await self._start_job(lambda: self._train(iterations))

    async def _restart(self, restart: Callable[[], p.Hello]) -> None:
        """A new run (configure, reset, import): its hello, then its spectrum."""
        hello = await self._locked(restart, in_thread=True)
        self.send(hello)
        self.send(await self._locked(self.session.spectrum, in_thread=True))

    # ------------------------------------------------------------------ background jobs

    async def _start_job(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        await self._stop_job()
        self.stop = asyncio.Event()
        self.job = asyncio.create_task(job())

    async def _stop_job(self) -> None:
        """Stop play or training and wait until the session is quiet."""
        if self.job is None:
            return
        self.stop.set()
        job, self.job = self.job, None
        try:
            await job
        except Exception:
            log.exception("background job failed")

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
            for frame in await self._locked(self.session.advance):
                self.send(frame, droppable=True)
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
            frame = await self._locked(partial(session.train, size), in_thread=True)
            done += size
            self.send(frame, droppable=done < iterations)
            if started >= spectrum_due:
                self.send(await self._locked(session.spectrum), droppable=True)
                spectrum_due = started + SPECTRUM_INTERVAL_SECONDS
            elapsed = anyio.current_time() - started
            # Grow or shrink the chunk so each takes about TRAIN_CHUNK_SECONDS.
            chunk = max(1, min(4 * chunk, int(size * TRAIN_CHUNK_SECONDS / max(elapsed, 1e-6))))
            await anyio.sleep(0)
        self.send(session.sequence())
        self.send(session.spectrum())


@router.websocket("/ws")
async def live(websocket: WebSocket) -> None:
    """One session per connection."""
    settings: Settings = websocket.app.state.settings
    registry: SessionRegistry = websocket.app.state.sessions
    if not origin_allowed(websocket, settings):
        await websocket.close(code=CLOSE_POLICY)  # before accept: the handshake gets HTTP 403
        return
    await websocket.accept()
    session = Session(p.RunConfig(), limits_from(settings))
    connection = LiveConnection(websocket, session, settings)
    if not registry.try_add(connection):
        message = f"the server is full ({settings.max_sessions} sessions); try again soon"
        await websocket.send_text(p.encode(p.Error(code="server_busy", message=message)).decode())
        await websocket.close(code=CLOSE_TRY_AGAIN, reason="server full")
        return
    try:
        await connection.run()
    except WebSocketDisconnect:
        pass
    finally:
        registry.remove(connection)
