"""The broker's jobs over Redis, all on one RedisLink, so rooms span processes and containers.

Keys: `unroll:roomdir:CODE` (the directory, with a TTL the owner keeps refreshing, so a crashed
owner's rooms vanish). Channels: `unroll:room:CODE` (frames), `unroll:owner:CODE` (notes and
requests), `unroll:reply:INSTANCE` (answers).
"""

from __future__ import annotations

import asyncio
import uuid

from app.web.broker.base import (
    Broker,
    BrokerError,
    Listener,
    NoteHandler,
    OwnerCalls,
    RequestHandler,
    RoomChannels,
    RoomDirectory,
    RoomMessage,
)
from app.web.broker.redis_link import RedisLink

REQUEST_TIMEOUT_SECONDS = 5.0


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


class RedisOwnerCalls(OwnerCalls):
    """Notes and requests on the owner's channel; answers on the asker's reply channel."""

    def __init__(self, link: RedisLink, instance: str) -> None:
        self.link = link
        self.reply_channel = f"unroll:reply:{instance}"
        self._waiting: dict[str, asyncio.Future[bytes]] = {}
        link.listen_from_start(self.reply_channel, self._on_reply)

    async def serve(self, code: str, on_note: NoteHandler, on_request: RequestHandler) -> None:
        def receive(raw: bytes) -> None:
            head, _, body = raw.partition(b"\n")
            if head == b"note":
                on_note(body)
                return
            _, request_id, reply_to = head.decode().split(" ")
            self.link.spawn(self._answer(on_request, body, request_id, reply_to))

        await self.link.subscribe(f"unroll:owner:{code}", receive)

    async def unserve(self, code: str) -> None:
        await self.link.unsubscribe(f"unroll:owner:{code}")

    def note(self, code: str, body: bytes) -> None:
        self.link.publish(f"unroll:owner:{code}", b"note\n" + body)

    async def request(self, code: str, body: bytes) -> bytes:
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            head = f"request {request_id} {self.reply_channel}\n".encode()
            if not await self.link.redis.publish(f"unroll:owner:{code}", head + body):
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
        self.link.publish(reply_to, reply)

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


def redis_broker(url: str) -> Broker:
    """The three jobs sharing one Redis connection (and one pub/sub connection)."""
    link = RedisLink(url)
    instance = uuid.uuid4().hex[:12]
    return Broker(
        directory=RedisDirectory(link, instance),
        channels=RedisChannels(link),
        owners=RedisOwnerCalls(link, instance),
        link=link,
        instance=instance,
    )
