"""One websocket served: a reader and a writer task, and what the connection's commands drive.

The reader validates each command through the protocol and hands it on: to the connection's own
session (its Driver), or to its seat in a room (see rooms/seat.py). The writer drains the
connection's Client, a bounded queue, so a slow client never slows the server or other clients.

The connection owns its client, its driver and its seat; they hold the client, never the
connection, so a closed connection is freed by reference counting alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from app import protocol as p
from app.session import CommandRefused
from app.web.client import CLOSE_NORMAL, CLOSE_POLICY, CLOSE_SERVER_ERROR, Client
from app.web.driver import Command, Driver
from app.web.outbox import ClientNotReading
from app.web.settings import Settings
from app.web.workers.messages import SealedImport, WorkerLost

if TYPE_CHECKING:
    from app.web.rooms.seat import Seat
    from app.web.workers.hosted import Hosted

log = logging.getLogger("unroll.live")


def parse(raw: str | bytes, settings: Settings) -> Command | p.Error:
    """A message as a command; an import too large to parse on the event loop is sealed, for
    its session's worker to parse."""
    if settings.max_message_bytes < len(raw) <= settings.max_import_bytes:
        return SealedImport(raw)
    return p.parse_command(raw, settings.max_message_bytes, settings.max_import_bytes)


class RateLimiter:
    """Token bucket: `rate` commands per second sustained, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(2 * rate, 1.0)
        self._tokens = self.burst
        self._last = time.monotonic()

    def allow(self) -> bool:
        """Take one token if there is one."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class LiveConnection:
    """One browser tab: driving its own session, or seated in a room (a teacher or a student)."""

    def __init__(
        self, websocket: WebSocket, settings: Settings, hosted: Hosted | None = None
    ) -> None:
        self.websocket = websocket
        self.settings = settings
        self.client = Client(
            str(websocket.url), settings.send_queue_frames, settings.send_queue_bytes
        )
        self.limiter = RateLimiter(settings.max_commands_per_second)
        self.driver = None if hosted is None else Driver(hosted, settings, self.client)
        self.seat: Seat | None = None

    async def run(self) -> None:
        """Serve until the client goes away or the connection is closed on purpose."""
        # Two plain tasks, not a task group: a cancelled child of an anyio task group leaves a
        # reference cycle through its traceback, which would keep this connection alive.
        reader = asyncio.create_task(self._read())
        writer = asyncio.create_task(self._write(reader))
        try:
            try:
                await asyncio.wait([reader])
            finally:
                for task in (reader, writer):
                    task.cancel()
                await asyncio.wait([reader, writer])
            await self._fail_if_either_failed(reader, writer)
        finally:
            await self._leave()

    async def _fail_if_either_failed(self, *tasks: asyncio.Task[None]) -> None:
        """Close a client that stopped reading its replies; let any other failure be seen."""
        for failure in [task.exception() for task in tasks if not task.cancelled()]:
            if isinstance(failure, ClientNotReading):
                log.warning("closing a connection: %s", failure)
                await self._close(CLOSE_POLICY, "client is not reading its replies")
            elif isinstance(failure, WorkerLost):  # the page reconnects to a fresh session
                log.warning("closing a connection: %s", failure)
                await self._close(CLOSE_SERVER_ERROR, "the server lost this session")
            elif failure is not None:
                raise failure

    async def _leave(self) -> None:
        if self.seat is not None:
            seat, self.seat = self.seat, None
            await seat.leave(self.client)
        if self.driver is not None:
            await self.driver.close()

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self.websocket.close(code=code, reason=reason)

    async def _write(self, reader: asyncio.Task[None]) -> None:
        """Send the client's frames; after a close on purpose (or a failure here), stop reading."""
        client_gone = False
        try:
            client_gone = await self._send_until_closing()
            if not client_gone:  # everything sent: close politely
                await self._close(*(self.client.closing or (CLOSE_NORMAL, "")))
        finally:
            if not client_gone:
                reader.cancel()

    async def _send_until_closing(self) -> bool:
        """Send frames until the client is to be closed; true if it went away first."""
        while (data := await self.client.next_frame()) is not None:
            try:
                await self.websocket.send_text(data)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return True  # the reader sees the disconnect
        return False

    async def _read(self) -> None:
        if self.driver is not None:
            await self.driver.greet()
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
        command = parse(raw, settings)
        if isinstance(command, p.Error):
            self.client.deliver(command)
            return
        try:
            if not self.limiter.allow():
                rate = f"more than {settings.max_commands_per_second:g} commands per second"
                raise CommandRefused("rate_limited", f"{rate}; slow down")
            reply = await self.handle(command)
        except CommandRefused as refusal:
            self.client.deliver(refusal.frame(command.id))
            return
        except (ClientNotReading, WorkerLost):
            raise
        except Exception:  # the session survives a bug in one command
            log.exception("command %s failed", command.type)
            message = f"the server failed to run {command.type}; the session is unchanged"
            self.client.deliver(CommandRefused("internal", message).frame(command.id))
            return
        if reply is not None:
            self.client.deliver(reply)
        self.client.deliver(p.Ack(command=command.type, command_id=command.id))

    async def handle(self, command: Command) -> str | None:
        """A command goes to the room seat if there is one, else to this connection's session."""
        if self.seat is not None:
            return await self.seat.handle(command, self)
        assert self.driver is not None, "a connection has a session or a seat"
        return await self.driver.run(command)
