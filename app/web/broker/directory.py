"""The room directory: which room codes are live, so codes are unique and any process can tell.

In one process, a set. Over Redis, keys `unroll:roomdir:CODE` with a TTL the owner keeps
refreshing, so a crashed owner's rooms vanish. A refresh writes the key again when it is missing
(a Redis that restarted has none), unless another process has taken the code meanwhile.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from app.web.broker.redis_link import RedisLink

log = logging.getLogger("unroll.broker")

# KEYS[1] the room's key; ARGV[1] this process, ARGV[2] the TTL in ms. 1 if the key is ours now.
RENEW = """
local owner = redis.call('GET', KEYS[1])
if owner == false or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


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
        """The owner says its room is still live (registering it again if it was forgotten)."""

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
        key = f"unroll:roomdir:{code}"
        if not await self.link.redis.eval(RENEW, 1, key, self.instance, _ms(ttl)):
            log.warning("room %s: another process has taken its code", code)

    async def release(self, code: str) -> None:
        await self.link.redis.delete(f"unroll:roomdir:{code}")
