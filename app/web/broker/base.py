"""The broker's three jobs, as interfaces, and the message a room's channel carries."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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


Listener = Callable[[RoomMessage], None]
NoteHandler = Callable[[bytes], None]
RequestHandler = Callable[[bytes], Awaitable[bytes]]


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


class OwnerCalls(ABC):
    """Any process to a room's owner: notes, and requests that wait for a reply."""

    @abstractmethod
    async def serve(self, code: str, on_note: NoteHandler, on_request: RequestHandler) -> None:
        """Become the room's owner: take its notes and answer its requests."""

    @abstractmethod
    async def unserve(self, code: str) -> None:
        """Stop owning the room."""

    @abstractmethod
    def note(self, code: str, body: bytes) -> None:
        """Tell the room's owner something, without waiting and without a reply."""

    @abstractmethod
    async def request(self, code: str, body: bytes) -> bytes:
        """Ask the room's owner and wait for its answer; BrokerError if none comes."""


class Link:
    """What the jobs of one broker share (nothing, in one process): connected at start."""

    async def start(self) -> None:
        """Connect (before serving)."""

    async def stop(self) -> None:
        """Disconnect (at shutdown)."""


@dataclass
class Broker:
    """How rooms reach the other server processes, one object per job (see the package doc)."""

    directory: RoomDirectory
    channels: RoomChannels
    owners: OwnerCalls
    link: Link = field(default_factory=Link)
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # as others see us

    async def start(self) -> None:
        """Connect (before serving)."""
        await self.link.start()

    async def stop(self) -> None:
        """Disconnect (at shutdown)."""
        await self.link.stop()
