"""A watching student that costs its benchmark little: a bare websocket reader on a Protocol.

The websockets library spends some 35 µs of Python per received message; a room of 300 at 24
frames/s is then ~0.25 cores of client work on the same 2 cores as the server, and each client
process reads its hundred sockets one after another, which shows up as lag. This reader times a
frame in the `data_received` call that completes it and matches its key on the raw bytes. It
speaks just enough of RFC 6455 for a reader: the handshake, unmasked server frames (text, ping,
close), masked pong and close replies. It sends nothing else.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import struct
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

KEY = re.compile(
    rb'\{"type":"(forward|backward|update|sequence|spectrum)","iteration":\d+(,"t":\d+)?'
)
CLOSED = b'"type":"room_closed"'
TEXT, CLOSE, PING = 0x1, 0x8, 0x9


@dataclass
class Seen:
    """When one student got each frame."""

    arrivals: dict[str, float] = field(default_factory=dict)
    closed: bool = False


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client's frame: clients mask what they send (RFC 6455, 5.3)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class LeanReader(asyncio.Protocol):
    """One student's socket: the handshake, then frames timed and keyed as they complete."""

    def __init__(self, seen: Seen, path: str, host: str) -> None:
        self.seen = seen
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.buffer = bytearray()
        self.open = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before the handshake"))
        if not self.done.done():
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()  # system-wide on Linux: comparable across processes
        self.buffer += data
        if not self.open and not self._handshake():
            return
        self._frames(arrived)

    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
        del self.buffer[: end + 4]
        if b" 101 " not in status:
            self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
            assert self.transport is not None
            self.transport.close()
            return False
        self.open = True
        self.opened.set_result(None)
        return True

    def _frames(self, arrived: float) -> None:
        """Every complete frame in the buffer; a partial one waits for more data."""
        buffer, at = self.buffer, 0
        while len(buffer) - at >= 2:
            opcode, size, start = buffer[at] & 0x0F, buffer[at + 1] & 0x7F, at + 2
            if size == 126:
                if len(buffer) - at < 4:
                    break
                (size,) = struct.unpack_from("!H", buffer, at + 2)
                start = at + 4
            elif size == 127:
                if len(buffer) - at < 10:
                    break
                (size,) = struct.unpack_from("!Q", buffer, at + 2)
                start = at + 10
            if len(buffer) - start < size:
                break
            self._frame(opcode, buffer, start, start + size, arrived)
            at = start + size
        del buffer[:at]

    def _frame(self, opcode: int, buffer: bytearray, start: int, end: int, arrived: float) -> None:
        if opcode == TEXT:
            key = KEY.match(buffer, start, min(end, start + 80))
            if key:
                self.seen.arrivals[key.group(0).decode()] = arrived
            elif buffer.find(CLOSED, start, min(end, start + 40)) >= 0:
                self.seen.closed = True
        elif opcode == PING and self.transport is not None:
            self.transport.write(_masked(0xA, bytes(buffer[start:end])))
        elif opcode == CLOSE and self.transport is not None:
            self.transport.write(_masked(CLOSE, bytes(buffer[start : start + 2])))
            self.transport.close()


async def lean_student(url: str, seen: Seen, seated: asyncio.Semaphore) -> None:
    """Watch the room until it ends (or the task is cancelled)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    reader = LeanReader(seen, parts.path, f"{host}:{port}")
    transport, _ = await loop.create_connection(lambda: reader, host, port)
    try:
        async with asyncio.timeout(30):
            await reader.opened
        seated.release()
        await reader.done
    finally:
        transport.close()
