"""What the broker's jobs share: the message a room's channel carries, errors, the link."""

from __future__ import annotations

from dataclasses import dataclass

from redis.exceptions import RedisError


class BrokerError(Exception):
    """A request found no owner, or the owner refused it."""


# What a broker call may raise when a room cannot be reached (Redis down included).
BROKER_ERRORS = (BrokerError, RedisError, OSError)


@dataclass(frozen=True)
class RoomMessage:
    """One message on a room's channel: a frame (kind is its type) or the room's end."""

    seq: int
    kind: str
    data: str

    def pack(self) -> bytes:
        """As sent over the wire: a short header line, then the encoded frame as it is."""
        return f"{self.seq} {self.kind}\n{self.data}".encode()

    @classmethod
    def unpack(cls, raw: bytes) -> RoomMessage:
        """The inverse of pack."""
        head, _, body = raw.partition(b"\n")
        seq, kind = head.decode().split(" ", 1)
        return cls(int(seq), kind, body.decode())


class Link:
    """What the jobs of one broker share (nothing, in one process): connected at start."""

    async def start(self) -> None:
        """Connect (before serving)."""

    async def stop(self) -> None:
        """Disconnect (at shutdown)."""
