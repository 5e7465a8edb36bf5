"""One process's connection to Redis, shared by the broker's jobs.

One client for keys and publishes, one pub/sub connection for every channel the process follows,
a reader task that hands each message to its channel's handler, and a writer task that publishes
in order, pipelining whatever queued up meanwhile (so a publish never waits on the network).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from app.web.broker.base import Link

log = logging.getLogger("unroll.broker")

PUBLISH_QUEUE = 10_000  # messages waiting for Redis; past it the newest are dropped (and logged)
PIPELINE_BATCH = 256  # publishes sent in one round trip at most

Handler = Callable[[bytes], None]


class RedisLink(Link):
    """The Redis connection of one process: keys, publishes and every subscription."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.redis: Any = None
        self._pubsub: Any = None
        self._handlers: dict[str, Handler] = {}
        self._outgoing: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(PUBLISH_QUEUE)
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[None]] = set()

    def listen_from_start(self, channel: str, handler: Handler) -> None:
        """A channel followed for the process's whole life (subscribed at start)."""
        self._handlers[channel] = handler

    async def start(self) -> None:
        self.redis = redis.Redis.from_url(self.url)
        self._pubsub = self.redis.pubsub()
        if self._handlers:
            await self._pubsub.subscribe(*self._handlers)
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
            for task in [reader, writer, *self._spawned]:
                task.cancel()
            await asyncio.wait([reader, writer], timeout=2)
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Hand every message of `channel` to `handler` (one handler per channel)."""
        self._handlers[channel] = handler
        await self._pubsub.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        """Stop following `channel`."""
        if self._handlers.pop(channel, None) is not None:
            await self._pubsub.unsubscribe(channel)

    def publish(self, channel: str, payload: bytes) -> None:
        """Publish in order, without waiting; dropped (and logged) if Redis falls far behind."""
        try:
            self._outgoing.put_nowait((channel, payload))
        except asyncio.QueueFull:
            log.warning("Redis is not keeping up; dropped a message for %s", channel)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the reader (it must not block it); cancelled at stop."""
        task = asyncio.create_task(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _write(self) -> None:
        while not self._stopping or not self._outgoing.empty():
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty() and len(batch) < PIPELINE_BATCH:
                batch.append(self._outgoing.get_nowait())
            messages = [item for item in batch if item is not None]
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
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
            if message is not None and message.get("type") == "message":
                self._dispatch(message["channel"].decode(), message["data"])

    def _dispatch(self, channel: str, data: bytes) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(data)
        except Exception:  # one bad message must not stop the process's rooms
            log.exception("failed to handle a message on %s", channel)
