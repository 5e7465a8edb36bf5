"""The websocket endpoint: a reader and a writer task per connection.

The reader validates each command through the protocol and hands it on: to the connection's own
session (the playground), or to its seat in a room (see rooms.py). The writer drains a bounded
outbox, so a slow client never slows the server or other clients. The engine work itself (the
session, its lock, play and train) lives in a Driver.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Protocol

import anyio
from anyio import CancelScope
from fastapi import APIRouter, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.connection import ClientNotReading, Outbox, RateLimiter
from app.web.driver import Driver
from app.web.settings import Settings

log = logging.getLogger("unroll.live")
router = APIRouter()

CLOSE_NORMAL = 1000  # a room ended: the viewer is told why, then closed politely
CLOSE_POLICY = 1008  # origin refused, or a client that floods without reading
CLOSE_TRY_AGAIN = 1013  # server full


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
    return same_origin(websocket.headers.get("origin"), websocket.headers.get("host", ""), settings)


def same_origin(origin: str | None, host: str, settings: Settings) -> bool:
    """Whether a browser request from `origin` to `host` may act on this server."""
    if origin is None:
        return True  # not a browser (scripts, tests): cross-site hijacking needs a browser
    origin = origin.rstrip("/")
    if origin in settings.origin_list():
        return True
    return origin in (f"http://{host}", f"https://{host}")


async def refuse_busy(websocket: WebSocket, message: str) -> None:
    """Tell a client the server is full, and close."""
    await websocket.send_text(p.encode(p.Error(code="server_busy", message=message)).decode())
    await websocket.close(code=CLOSE_TRY_AGAIN, reason="server full")


class SessionRegistry:
    """Live connections of this server that own a session, capped by settings."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.live: set[LiveConnection] = set()

    @property
    def full(self) -> bool:
        """Whether one more session would pass the cap."""
        return len(self.live) >= self.capacity

    def try_add(self, connection: LiveConnection) -> bool:
        """Register a connection unless the server is full."""
        if self.full:
            return False
        self.live.add(connection)
        return True

    def remove(self, connection: LiveConnection) -> None:
        """Forget a closed connection."""
        self.live.discard(connection)


class Seat(Protocol):
    """A connection's place in a room: it decides what the connection's commands do."""

    async def handle(self, command: p.Command) -> BaseModel | None:
        """Carry out or refuse a command; return the frame for its sender alone, if any."""

    async def leave(self) -> None:
        """The connection is going away."""


class LiveConnection:
    """One browser tab: driving its own session, or seated in a room (a teacher or a student)."""

    def __init__(self, websocket: WebSocket, session: Session | None, settings: Settings) -> None:
        self.websocket = websocket
        self.settings = settings
        self.outbox = Outbox(settings.send_queue_frames)
        self.limiter = RateLimiter(settings.max_commands_per_second)
        self.driver = None if session is None else Driver(session, settings, self)
        self.seat: Seat | None = None

    @property
    def session(self) -> Session | None:
        """The session this connection drives itself, if any."""
        return None if self.driver is None else self.driver.session

    # ------------------------------------------------------------------ plumbing

    def send(self, frame: BaseModel, *, droppable: bool = False) -> None:
        """Encode once and queue."""
        self.outbox.put(p.encode(frame).decode(), droppable=droppable)

    def show(self, frame: BaseModel, *, droppable: bool = False) -> None:
        """A frame of this connection's own run (the FrameSink of its driver)."""
        self.send(frame, droppable=droppable)

    def drive(self, session: Session) -> None:
        """From now on drive `session` privately (a student's fork of a room)."""
        self.seat = None
        self.outbox.resync = None
        self.outbox.discard_animation()  # the room's frames still queued are no longer wanted
        self.driver = Driver(session, self.settings, self)
        self.driver.greet()

    async def run(self) -> None:
        """Serve until the client goes away or the connection is closed on purpose."""
        if self.driver is not None:
            self.driver.greet()
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._write, group.cancel_scope)
                await self._read()
                group.cancel_scope.cancel()
        except* ClientNotReading as group:
            log.warning("closing a connection: %s", group.exceptions[0])
            await self._close(CLOSE_POLICY, "client is not reading its replies")
        finally:
            await self._leave()

    async def _leave(self) -> None:
        if self.seat is not None:
            seat, self.seat = self.seat, None
            await seat.leave()
        if self.driver is not None:
            await self.driver.stop_job()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self.websocket.close(code=code, reason=reason)

    async def _write(self, reading: CancelScope) -> None:
        while True:
            data = await self.outbox.get()
            if data is None:  # closing on purpose, everything sent: close, and stop reading
                await self._close(*(self.outbox.closing or (CLOSE_NORMAL, "")))
                reading.cancel()
                return
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
            reply = await self.handle(command)
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
        if reply is not None:
            self.send(reply)
        self.send(p.Ack(command=command.type, command_id=command.id))

    async def handle(self, command: p.Command) -> BaseModel | None:
        """A command goes to the room seat if there is one, else to this connection's session."""
        if self.seat is not None:
            return await self.seat.handle(command)
        assert self.driver is not None, "a connection has a session or a seat"
        return await self.driver.run(command)


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
        await refuse_busy(
            websocket, f"the server is full ({settings.max_sessions} sessions); try again soon"
        )
        return
    try:
        await connection.run()
    except WebSocketDisconnect:
        pass
    finally:
        registry.remove(connection)
