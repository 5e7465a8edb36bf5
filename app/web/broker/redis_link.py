"""One process's connection to Redis, shared by the broker's jobs.

One client for keys and publishes, one pub/sub connection for every channel the process follows,
a reader task that hands each message to its channel's handler, and a writer task that publishes
in order, pipelining whatever queued up meanwhile (so a publish never waits on the network).

Redis may go away and come back (a restart empties it). The reader keeps trying; redis-py
subscribes the pub/sub connection to its channels again once it reconnects, and then every
recovery registered with `on_reconnect` runs (the rooms put their keys back and catch up).
Stopping takes a bounded time whether Redis answers or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from app.web.broker.base import Link, Recovery

log = logging.getLogger("unroll.broker")

PUBLISH_QUEUE = 10_000  # messages waiting for Redis; past it the newest are dropped (and logged)
PIPELINE_BATCH = 256  # publishes sent in one round trip at most
TIMEOUT_SECONDS = 2.0  # connecting to Redis, and waiting for its answer
RETRY_SECONDS = 0.5  # between attempts to reach a Redis that went away
STOP_SECONDS = 0.3  # each step of stopping (flush, cancel, close), at most

Handler = Callable[[bytes], None]


class WatchedPubSub(PubSub):
    """redis-py's pub/sub, saying so each time it has connected and subscribed again."""

    def __init__(self, pool: Any, connected: Callable[[], None]) -> None:
        super().__init__(pool)
        self.connected = connected

    async def on_connect(self, connection: Any) -> None:
        """redis-py's hook on every (re)connect: subscribe again, then say so."""
        await super().on_connect(connection)
        self.connected()


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
        self._recoveries: list[Recovery] = []

    def listen_from_start(self, channel: str, handler: Handler) -> None:
        """A channel followed for the process's whole life (subscribed at start)."""
        self._handlers[channel] = handler

    def on_reconnect(self, recover: Recovery) -> None:
        self._recoveries.append(recover)

    async def start(self) -> None:
        self.redis = redis.Redis.from_url(
            self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        # redis-py retries inside a read, so it may reconnect without the reader ever seeing an
        # error: its reconnect hook is the one sure sign.
        self._pubsub = WatchedPubSub(self.redis.connection_pool, self._reconnected)
        if self._handlers:
            await self._pubsub.subscribe(*self._handlers)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._write())]

    async def stop(self) -> None:
        # Flush first (a room's last words: its room_closed), then stop, each for a moment at
        # most: Redis may be gone. The tasks are told by a flag and a sentinel too: redis-py can
        # swallow a cancellation in mid-command.
        self._stopping = True
        with contextlib.suppress(asyncio.QueueFull):
            self._outgoing.put_nowait(None)
        if self._tasks:
            _, writer = self._tasks
            await asyncio.wait([writer], timeout=STOP_SECONDS)
        tasks = [*self._tasks, *self._spawned]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_SECONDS)
        closing = [c.aclose() for c in (self._pubsub, self.redis) if c is not None]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_SECONDS):
                await asyncio.gather(*closing, return_exceptions=True)

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
            await self._publish_until_sent([item for item in batch if item is not None])

    async def _publish_until_sent(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish; while Redis is away, try again (newer messages queue up behind, in order)."""
        failing = False
        while messages:
            try:
                await self._publish(messages)
                return
            except (OSError, RedisError) as exc:
                if not failing:
                    log.warning("cannot publish to Redis: %s; retrying", exc)
                failing = True
                if self._stopping:
                    return
                await asyncio.sleep(RETRY_SECONDS)

    async def _publish(self, messages: list[tuple[str, bytes]]) -> None:
        """Publish in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for channel, payload in messages:
                pipe.publish(channel, payload)
            await pipe.execute()

    async def _read(self) -> None:
        lost = False
        while not self._stopping:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=RETRY_SECONDS
                )
            except (OSError, RedisError) as exc:
                if not lost:
                    log.warning("lost Redis: %s; retrying", exc)
                lost = True
                await asyncio.sleep(RETRY_SECONDS)
                continue
            lost = False
            if message is not None and message.get("type") == "message":
                self._dispatch(message["channel"].decode(), message["data"])

    def _reconnected(self) -> None:
        """The pub/sub connection is back (and subscribed again): run every recovery."""
        log.warning("Redis is back")
        for recover in self._recoveries:
            self.spawn(recover())

    def _dispatch(self, channel: str, data: bytes) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(data)
        except Exception:  # one bad message must not stop the process's rooms
            log.exception("failed to handle a message on %s", channel)
