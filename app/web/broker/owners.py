"""Calls to a room's owner from any process: notes, and requests that wait for a reply.

In one process, a call of the owner's handler. Over Redis, notes and requests on the channel
`unroll:owner:CODE`, answers on the asker's `unroll:reply:INSTANCE`.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from app.web.broker.base import BrokerError
from app.web.broker.redis_link import RedisLink

REQUEST_TIMEOUT_SECONDS = 5.0

NoteHandler = Callable[[bytes], None]
RequestHandler = Callable[[bytes], Awaitable[bytes]]


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


class LocalOwnerCalls(OwnerCalls):
    """A note or a request is a call of the owner's handler."""

    def __init__(self) -> None:
        self._owners: dict[str, tuple[NoteHandler, RequestHandler]] = {}

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
