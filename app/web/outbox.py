"""A bounded queue of encoded frames for one client: replies kept, animation dropped or coalesced.

Private to a `Client` (see client.py): the rest of the server talks to the client's verbs.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

# The lanes of an outbox. Replies are never dropped; animation frames are dropped oldest first;
# a resync is a burst of frames that brings a lagging viewer to the current state at once.
REPLY, ANIMATION, RESYNC = 0, 1, 2


class ClientNotReading(Exception):
    """The client let replies pile up past the byte cap; the connection is closed."""


class Outbox:
    """Frames waiting to be sent to one client, at most `byte_cap` bytes of them.

    Replies to the client's own commands are never dropped. Animation and progress frames are:
    past `capacity` of them, or when the queue passes its byte cap, the oldest goes, so a slow
    client sees fewer frames instead of making the server buffer without bound or fall behind.
    A client whose replies alone pass the cap is not reading: it is closed (one reply larger
    than the cap still goes, alone).

    A viewer of someone else's run (a room's student) sets `resync`: a function returning the
    frames that show the run's current state. Then an overflow is coalesced instead: the queued
    animation is discarded and, when the client reads again, it gets that state as one burst,
    taken at that moment, and the live frames that follow it.
    """

    def __init__(self, capacity: int, byte_cap: int) -> None:
        self.capacity = capacity
        self.byte_cap = byte_cap
        self.bytes = 0  # queued, all lanes
        self.resync: Callable[[], list[str]] | None = None
        self.closing: tuple[int, str] | None = None
        self.finished = False  # everything was handed to the writer, which is closing
        self._items: deque[tuple[str, int]] = deque()
        self._droppable = 0
        self._resync_due = False
        self._ready = asyncio.Event()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, data: str, *, droppable: bool) -> None:
        """Queue one encoded frame."""
        self._items.append((data, ANIMATION if droppable else REPLY))
        self.bytes += len(data)
        if droppable:
            self._droppable += 1
        while self._droppable and (self._droppable > self.capacity or self.bytes > self.byte_cap):
            if self.resync is not None:
                self.request_resync()
            else:
                self._drop_oldest_droppable()
        if not droppable and self.bytes > self.byte_cap and len(self._items) > 1:
            raise ClientNotReading(f"more than {self.byte_cap} bytes of replies unread")
        self._ready.set()

    def _drop_oldest_droppable(self) -> None:
        for index, (data, lane) in enumerate(self._items):
            if lane == ANIMATION:
                del self._items[index]
                self.bytes -= len(data)
                self._droppable -= 1
                self.dropped += 1
                return

    def request_resync(self) -> None:
        """Forget queued animation; the next read starts with the current state (see `resync`)."""
        self._drop_animation()
        self._resync_due = True
        self._ready.set()

    def discard_animation(self) -> None:
        """Forget queued animation and any pending resync (the viewer switches to another run)."""
        self._drop_animation()
        self._resync_due = False

    def _drop_animation(self) -> None:
        kept = deque(item for item in self._items if item[1] == REPLY)  # and an older resync
        self.dropped += len(self._items) - len(kept)
        self._items = kept
        self.bytes = sum(len(data) for data, _ in kept)
        self._droppable = 0

    def close(self, code: int, reason: str) -> None:
        """Once everything queued is sent, the writer closes the connection."""
        self.closing = (code, reason)
        self._ready.set()

    async def get(self) -> str | None:
        """The next frame to send, waiting for one; None once closing and everything is sent."""
        while True:
            if self._resync_due:
                self._resync_due = False
                if self.resync is not None:
                    # Taken now, so it is newer than any animation still queued: drop that.
                    self._drop_animation()
                    frames = self.resync()
                    self._items.extend((frame, RESYNC) for frame in frames)
                    self.bytes += sum(len(frame) for frame in frames)
            if self._items:
                break
            if self.closing is not None:
                self.finished = True
                return None
            self._ready.clear()
            await self._ready.wait()
        data, lane = self._items.popleft()
        self.bytes -= len(data)
        if lane == ANIMATION:
            self._droppable -= 1
        return data
