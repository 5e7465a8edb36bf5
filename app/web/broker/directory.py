"""The room directory: which room codes are live, so codes are unique and any process can tell.

In one process, a set. Over Redis, keys `unroll:roomdir:CODE` with a TTL the owner keeps
refreshing, so a crashed owner's rooms vanish.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from app.web.broker.redis_link import RedisLink


class RoomDirectory(ABC):
    """Which room codes are live: unique codes, and any process can tell whether one exists."""

    @abstractmethod
    async def claim(self, code: str, ttl: float) -> bool:
        """Register a new room code for `ttl` seconds; false if it is taken."""

    @abstractmethod
    async def exists(self, code: str) -> bool:
        """Whether a room with this code is live somewhere."""

    @abstractmethod
    async def refresh(self, code: str, ttl: float) -> None:
        """The owner says its room is still live."""

    @abstractmethod
    async def release(self, code: str) -> None:
        """Forget a room code."""


class LocalDirectory(RoomDirectory):
    """The codes of this process's rooms; nothing expires (the owner releases its code)."""

    def __init__(self) -> None:
        self._codes: set[str] = set()

    async def claim(self, code: str, ttl: float) -> bool:
        if code in self._codes:
            return False
        self._codes.add(code)
        return True

    async def exists(self, code: str) -> bool:
        return code in self._codes

    async def refresh(self, code: str, ttl: float) -> None:
        pass

    async def release(self, code: str) -> None:
        self._codes.discard(code)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisDirectory(RoomDirectory):
    """Room codes as keys that expire unless their owner refreshes them."""

    def __init__(self, link: RedisLink, instance: str) -> None:
        self.link = link
        self.instance = instance

    async def claim(self, code: str, ttl: float) -> bool:
        key = f"unroll:roomdir:{code}"
        return bool(await self.link.redis.set(key, self.instance, nx=True, px=_ms(ttl)))

    async def exists(self, code: str) -> bool:
        return bool(await self.link.redis.exists(f"unroll:roomdir:{code}"))

    async def refresh(self, code: str, ttl: float) -> None:
        await self.link.redis.pexpire(f"unroll:roomdir:{code}", _ms(ttl))

    async def release(self, code: str) -> None:
        await self.link.redis.delete(f"unroll:roomdir:{code}")
