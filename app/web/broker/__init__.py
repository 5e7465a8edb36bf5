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

from app.web.broker.base import (
    BROKER_ERRORS,
    Broker,
    BrokerError,
    OwnerCalls,
    RoomChannels,
    RoomDirectory,
    RoomMessage,
)
from app.web.broker.local import local_broker
from app.web.broker.redis_broker import redis_broker

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


def make_broker(redis_url: str) -> Broker:
    """Redis when a URL is configured, else the in-process broker."""
    return redis_broker(redis_url) if redis_url else local_broker()
