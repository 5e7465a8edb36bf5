"""How a room reaches server processes other than its own: in-process, or over Redis pub/sub.

A room lives in the process that created it (its owner). Three things cross processes, each the
job of one object of the `Broker`:
- `directory`: the room codes, so codes are unique and any process can tell whether one exists;
- `channels`: owner to every process with students in the room: its frames, encoded once, with a
  sequence number, then the room's end;
- `owners`: any process to the owner: notes (how many students a process holds) and requests
  with a reply (the room's current state for late joiners, an export for a fork).

`local_broker` does all of it inside one process (the embedded default); `redis_broker` does it
over Redis (UNROLL_REDIS_URL), so rooms work across several processes or containers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from app.web.broker.base import BROKER_ERRORS, BrokerError, Link, RoomMessage
from app.web.broker.channels import LocalChannels, RedisChannels, RoomChannels
from app.web.broker.directory import LocalDirectory, RedisDirectory, RoomDirectory
from app.web.broker.owners import LocalOwnerCalls, OwnerCalls, RedisOwnerCalls
from app.web.broker.redis_link import RedisLink

__all__ = [
    "BROKER_ERRORS",
    "Broker",
    "BrokerError",
    "OwnerCalls",
    "RoomChannels",
    "RoomDirectory",
    "RoomMessage",
    "local_broker",
    "make_broker",
    "redis_broker",
]


def new_instance() -> str:
    """A name for this process, unique among the processes sharing a Redis."""
    return uuid.uuid4().hex[:12]


@dataclass
class Broker:
    """How rooms reach the other server processes, one object per job (see the package doc)."""

    directory: RoomDirectory
    channels: RoomChannels
    owners: OwnerCalls
    link: Link = field(default_factory=Link)
    instance: str = field(default_factory=new_instance)  # this process, to the others

    async def start(self) -> None:
        """Connect (before serving)."""
        await self.link.start()

    async def stop(self) -> None:
        """Disconnect (at shutdown)."""
        await self.link.stop()


def local_broker() -> Broker:
    """Rooms in this process only (the embedded default)."""
    return Broker(LocalDirectory(), LocalChannels(), LocalOwnerCalls())


def redis_broker(url: str) -> Broker:
    """The three jobs sharing one Redis connection (and one pub/sub connection)."""
    link = RedisLink(url)
    instance = new_instance()
    return Broker(
        directory=RedisDirectory(link, instance),
        channels=RedisChannels(link),
        owners=RedisOwnerCalls(link, instance),
        link=link,
        instance=instance,
    )


def make_broker(redis_url: str) -> Broker:
    """Redis when a URL is configured, else the in-process broker."""
    return redis_broker(redis_url) if redis_url else local_broker()
