"""Deliberately bad websocket clients that stop reading: on a raw socket, and faked in-process."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from typing import Any

import orjson


class RawClient:
    """Handshake, send masked text frames, and never read unless asked."""

    def __init__(self, host: str, port: int, path: str = "/ws", receive_buffer: int = 4096) -> None:
        self.sock = socket.socket()
        # A tiny receive window, so the server feels backpressure after a few frames.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        if b" 101 " not in response.split(b"\r\n", 1)[0]:
            raise ConnectionError(response.decode(errors="replace"))

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def close(self) -> None:
        self.sock.close()


class StalledSocket:
    """A websocket whose client stopped reading: every send blocks until released."""

    url = "ws://testserver/ws"

    def __init__(self, commands: list[dict[str, Any]]) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for command in commands:
            self.incoming.put_nowait({"type": "websocket.receive", "text": orjson.dumps(command)})
        self.reading = asyncio.Event()
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, data: str) -> None:
        await self.reading.wait()
        self.sent.append(orjson.loads(data))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        pass
