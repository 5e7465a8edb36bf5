"""How a room reaches server processes other than its own: in-process, or over Redis pub/sub.

A room lives in the process that created it (its owner). Three things cross processes:
- the directory of room codes, so codes are unique and any process can tell whether one exists;
- the room channel, owner to every process with students in the room: its frames, encoded once,
  with a sequence number, then the room's end;
- the owner channel, any process to the owner: notes (how many students a process holds) and
  requests with a reply (the room's current state for late joiners, an export for a fork).

`LocalBroker` does all of it inside one process (the embedded default); `RedisBroker` does it over
Redis (UNROLL_REDIS_URL), so rooms work across several processes or containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("unroll.broker")

REQUEST_TIMEOUT_SECONDS = 5.0
PUBLISH_QUEUE = 10_000  # messages waiting for Redis; past it the newest are dropped (and logged)


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


class Broker(ABC):
    """The room directory, the room channels and the owner channels (see the module docstring)."""

    instance: str  # this process, as others see it

    @abstractmethod
    async def start(self) -> None:
        """Connect (before serving)."""

    @abstractmethod
    async def stop(self) -> None:
        """Disconnect (at shutdown)."""

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

    @abstractmethod
    def publish(self, code: str, message: RoomMessage) -> None:
        """Send to every process following the room, in order, without waiting."""

    @abstractmethod
    async def subscribe(self, code: str, listener: Listener) -> None:
        """Follow a room: `listener` gets each message (one listener per room per process)."""

    @abstractmethod
    async def unsubscribe(self, code: str, listener: Listener) -> None:
        """Stop following a room (if `listener` is still the one following it)."""

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


class LocalBroker(Broker):
    """Everything in this process: rooms, their followers and their owners are plain objects."""

    def __init__(self) -> None:
        self.instance = uuid.uuid4().hex[:12]
        self._codes: set[str] = set()
        self._listeners: dict[str, Listener] = {}
        self._owners: dict[str, tuple[NoteHandler, RequestHandler]] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

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

    def publish(self, code: str, message: RoomMessage) -> None:
        listener = self._listeners.get(code)
        if listener is not None:
            listener(message)

    async def subscribe(self, code: str, listener: Listener) -> None:
        self._listeners[code] = listener

    async def unsubscribe(self, code: str, listener: Listener) -> None:
        if self._listeners.get(code) == listener:  # bound methods: equal, not identical
            del self._listeners[code]

    async def serve(self, code: str, on_note: NoteHandler, on_request: RequestHandler) -> None:
        self._owners[code] = (on_note, on_request)

    async def unserve(self, code: str) -> None:
        self._owners.pop(code, None)

    def note(self, code: str, body: bytes) -> None:
        owner = self._owners.get(code)
        if owner is not None:
            owner[0](body)

    async def request(self, code: str, body: bytes) -> bytes:
        owner = self._owners.get(code)
        if owner is None:
            raise BrokerError(f"room {code} has no owner")
        try:
            return await owner[1](body)
        except Exception as exc:
            raise BrokerError(str(exc)) from exc


class RedisBroker(Broker):
    """Redis pub/sub between processes: one subscriber connection and one publisher per process.

    Channels: `unroll:room:CODE` (frames), `unroll:owner:CODE` (notes and requests),
    `unroll:reply:INSTANCE` (answers); keys: `unroll:roomdir:CODE` (the directory, with a TTL the
    owner keeps refreshing, so a crashed owner's rooms vanish).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.instance = uuid.uuid4().hex[:12]
        self._handlers: dict[str, Callable[[bytes], None]] = {}
        # Which listener follows which room, so a late unsubscribe cannot cut off a newer one.
        self._listeners: dict[str, Listener] = {}
        self._waiting: dict[str, asyncio.Future[bytes]] = {}
        self._outgoing: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(PUBLISH_QUEUE)
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._answering: set[asyncio.Task[None]] = set()
        self._redis: Any = None
        self._pubsub: Any = None

    @property
    def _reply_channel(self) -> str:
        return f"unroll:reply:{self.instance}"

    async def start(self) -> None:
        self._redis = redis.Redis.from_url(self.url)
        self._pubsub = self._redis.pubsub()
        await self._subscribe(self._reply_channel, self._on_reply)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]

    async def stop(self) -> None:
        # Flush first (a room's last words: its room_closed), then stop. The tasks are told by
        # a flag and a sentinel too: redis-py can swallow a cancellation in mid-command.
        self._stopping = True
        with contextlib.suppress(asyncio.QueueFull):
            self._outgoing.put_nowait(None)
        if self._tasks:
            reader, writer = self._tasks
            await asyncio.wait([writer], timeout=2)
            for task in [reader, writer, *self._answering]:
                task.cancel()
            await asyncio.wait([reader, writer], timeout=2)
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._redis is not None:
            await self._redis.aclose()

    # ------------------------------------------------------------------ the directory

    async def claim(self, code: str, ttl: float) -> bool:
        key = f"unroll:roomdir:{code}"
        return bool(await self._redis.set(key, self.instance, nx=True, px=_ms(ttl)))

    async def exists(self, code: str) -> bool:
        return bool(await self._redis.exists(f"unroll:roomdir:{code}"))

    async def refresh(self, code: str, ttl: float) -> None:
        await self._redis.pexpire(f"unroll:roomdir:{code}", _ms(ttl))

    async def release(self, code: str) -> None:
        await self._redis.delete(f"unroll:roomdir:{code}")

    # ------------------------------------------------------------------ the room channel

    def publish(self, code: str, message: RoomMessage) -> None:
        self._enqueue(f"unroll:room:{code}", message.pack())

    async def subscribe(self, code: str, listener: Listener) -> None:
        await self._subscribe(f"unroll:room:{code}", lambda raw: listener(RoomMessage.unpack(raw)))
        self._listeners[code] = listener

    async def unsubscribe(self, code: str, listener: Listener) -> None:
        if self._listeners.get(code) == listener:  # bound methods: equal, not identical
            del self._listeners[code]
            await self._unsubscribe(f"unroll:room:{code}")

    # ------------------------------------------------------------------ the owner channel

    async def serve(self, code: str, on_note: NoteHandler, on_request: RequestHandler) -> None:
        def receive(raw: bytes) -> None:
            head, _, body = raw.partition(b"\n")
            if head == b"note":
                on_note(body)
                return
            _, request_id, reply_to = head.decode().split(" ")
            task = asyncio.create_task(self._answer(on_request, body, request_id, reply_to))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)

        await self._subscribe(f"unroll:owner:{code}", receive)

    async def unserve(self, code: str) -> None:
        await self._unsubscribe(f"unroll:owner:{code}")

    def note(self, code: str, body: bytes) -> None:
        self._enqueue(f"unroll:owner:{code}", b"note\n" + body)

    async def request(self, code: str, body: bytes) -> bytes:
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            head = f"request {request_id} {self._reply_channel}\n".encode()
            if not await self._redis.publish(f"unroll:owner:{code}", head + body):
                raise BrokerError(f"room {code} has no owner")
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                return await answer
        except TimeoutError:
            raise BrokerError(f"room {code}'s owner did not answer") from None
        finally:
            self._waiting.pop(request_id, None)

    async def _answer(
        self, on_request: RequestHandler, body: bytes, request_id: str, reply_to: str
    ) -> None:
        try:
            reply = f"{request_id} ok\n".encode() + await on_request(body)
        except Exception as exc:
            reply = f"{request_id} error\n{exc}".encode()
        self._enqueue(reply_to, reply)

    def _on_reply(self, raw: bytes) -> None:
        head, _, body = raw.partition(b"\n")
        request_id, status = head.decode().split(" ")
        answer = self._waiting.get(request_id)
        if answer is None or answer.done():
            return
        if status == "ok":
            answer.set_result(body)
        else:
            answer.set_exception(BrokerError(body.decode()))

    # ------------------------------------------------------------------ plumbing

    async def _subscribe(self, channel: str, handler: Callable[[bytes], None]) -> None:
        self._handlers[channel] = handler
        await self._pubsub.subscribe(channel)

    async def _unsubscribe(self, channel: str) -> None:
        if self._handlers.pop(channel, None) is not None:
            await self._pubsub.unsubscribe(channel)

    def _enqueue(self, channel: str, payload: bytes) -> None:
        try:
            self._outgoing.put_nowait((channel, payload))
        except asyncio.QueueFull:
            log.warning("Redis is not keeping up; dropped a message for %s", channel)

    async def _write(self) -> None:
        """Publish in order, pipelining whatever queued up while the previous batch was sent."""
        while not self._stopping or not self._outgoing.empty():
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < 256:
                batch.append(self._outgoing.get_nowait())
            messages = [item for item in batch if item is not None]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, payload in messages:
                        pipe.publish(channel, payload)
                    await pipe.execute()
            except (OSError, RedisError) as exc:
                log.warning("cannot publish to Redis: %s", exc)
                await asyncio.sleep(0.5)

    async def _read(self) -> None:
        while not self._stopping:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=0.5
                )
            except (OSError, RedisError) as exc:
                log.warning("lost Redis: %s; retrying", exc)
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            handler = self._handlers.get(message["channel"].decode())
            if handler is None:
                continue
            try:
                handler(message["data"])
            except Exception:  # one bad message must not stop the process's rooms
                log.exception("failed to handle a message on %s", message["channel"])


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def make_broker(redis_url: str) -> Broker:
    """Redis when a URL is configured, else the in-process broker."""
    return RedisBroker(redis_url) if redis_url else LocalBroker()
