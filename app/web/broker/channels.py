"""The room channels: owner to every process with students in a room, its frames then its end.

In one process, a call of the room's one listener. Over Redis, the channel `unroll:room:CODE`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from app.web.broker.base import RoomMessage
from app.web.broker.redis_link import RedisLink

Listener = Callable[[RoomMessage], None]


class RoomChannels(ABC):
    """Owner to every process with students in a room: its frames, in order, then its end."""

    @abstractmethod
    def publish(self, code: str, message: RoomMessage) -> None:
        """Send to every process following the room, in order, without waiting."""

    @abstractmethod
    async def subscribe(self, code: str, listener: Listener) -> None:
        """Follow a room: `listener` gets each message (one listener per room per process)."""

    @abstractmethod
    async def unsubscribe(self, code: str, listener: Listener) -> None:
        """Stop following a room (if `listener` is still the one following it)."""


class LocalChannels(RoomChannels):
    """A publish is a call of the room's one listener."""

    def __init__(self) -> None:
        self._listeners: dict[str, Listener] = {}

    def publish(self, code: str, message: RoomMessage) -> None:
        listener = self._listeners.get(code)
        if listener is not None:
            listener(message)

    async def subscribe(self, code: str, listener: Listener) -> None:
        self._listeners[code] = listener

    async def unsubscribe(self, code: str, listener: Listener) -> None:
        if self._listeners.get(code) == listener:  # bound methods: equal, not identical
            del self._listeners[code]


class RedisChannels(RoomChannels):
    """A room's messages on its pub/sub channel."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        # Which listener follows which room, so a late unsubscribe cannot cut off a newer one.
        self._listeners: dict[str, Listener] = {}

    def publish(self, code: str, message: RoomMessage) -> None:
        self.link.publish(f"unroll:room:{code}", message.pack())

    async def subscribe(self, code: str, listener: Listener) -> None:
        channel = f"unroll:room:{code}"
        await self.link.subscribe(channel, lambda raw: listener(RoomMessage.unpack(raw)))
        self._listeners[code] = listener

    async def unsubscribe(self, code: str, listener: Listener) -> None:
        if self._listeners.get(code) == listener:  # bound methods: equal, not identical
            del self._listeners[code]
            await self.link.unsubscribe(f"unroll:room:{code}")
