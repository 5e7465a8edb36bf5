"""Per-connection plumbing: a bounded outbox and a command rate limiter."""

from __future__ import annotations

import asyncio
import time
from collections import deque


class ClientNotReading(Exception):
    """The client let replies pile up past the hard cap; the connection is closed."""


class Outbox:
    """Frames waiting to be sent to one client.

    Replies to the client's own commands are never dropped. Animation and progress frames are:
    past `capacity` of them, the oldest goes, so a slow client sees fewer frames instead of
    making the server buffer without bound or fall behind.
    """

    def __init__(self, capacity: int, reply_cap: int = 4096) -> None:
        self.capacity = capacity
        self.reply_cap = reply_cap
        self._items: deque[tuple[str, bool]] = deque()
        self._droppable = 0
        self._ready = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, data: str, *, droppable: bool) -> None:
        """Queue one encoded frame."""
        self._items.append((data, droppable))
        if droppable:
            self._droppable += 1
            if self._droppable > self.capacity:
                self._drop_oldest_droppable()
        elif len(self._items) - self._droppable > self.reply_cap:
            raise ClientNotReading(f"more than {self.reply_cap} replies unread")
        self._ready.set()

    def _drop_oldest_droppable(self) -> None:
        for index, (_, droppable) in enumerate(self._items):
            if droppable:
                del self._items[index]
                self._droppable -= 1
                self.dropped += 1
                return

    async def get(self) -> str:
        """The next frame to send, waiting for one if none is queued."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        data, droppable = self._items.popleft()
        if droppable:
            self._droppable -= 1
        return data


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
