"""A websocket client as the rest of the server sees it: frames go to it through a few verbs.

Drivers, rooms and relays hold a `Client`, never the connection that serves it, and never its
queue: they `deliver` frames, make it `follow` a run someone else drives (coalescing its
animation when it lags), and `close_after` the last frame. The connection (connection.py) owns
its client and drains it to the socket; nothing the client holds points back at the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel

from app import protocol as p
from app.web.outbox import Outbox
from app.web.workers.messages import Encoded

CLOSE_NORMAL = 1000  # a room ended: the viewer is told why, then closed politely
CLOSE_POLICY = 1008  # origin refused, or a client that floods without reading
CLOSE_SERVER_ERROR = 1011  # the worker holding the session stopped: reconnect to a new one
CLOSE_TRY_AGAIN = 1013  # server full

Stream = Callable[[], list[str]]  # the encoded frames that show a run as it is now


class FrameSink(Protocol):
    """Where a driver's frames go: one client, or a room that fans them out."""

    def deliver(self, frame: BaseModel | Encoded, *, droppable: bool = False) -> None:
        """Send a frame; droppable frames are animation a slow viewer may miss."""


class Client:
    """The sending end of one websocket: a bounded queue behind a few verbs."""

    def __init__(self, url: str, capacity: int, byte_cap: int) -> None:
        self.url = url  # where the client reached us (join links are built from it)
        self._outbox = Outbox(capacity, byte_cap)

    def deliver(self, frame: BaseModel | Encoded | str, *, droppable: bool = False) -> None:
        """Queue a frame: a model (encoded here), one a worker encoded, or one encoded once for
        many clients."""
        if isinstance(frame, Encoded):
            data = frame.text
        elif isinstance(frame, str):
            data = frame
        else:
            data = p.encode(frame).decode()
        self._outbox.put(data, droppable=droppable)

    def follow(self, stream: Stream, *, catch_up: bool = True) -> None:
        """Watch someone else's run: when lagging, skip to `stream()`; catch_up: start there."""
        self._outbox.resync = stream
        if catch_up:
            self._outbox.request_resync()

    def catch_up(self) -> None:
        """Drop the animation queued: the next frames are the followed run as it is then."""
        self._outbox.request_resync()

    def unfollow(self) -> None:
        """Stop watching: from now on a lagging client loses its oldest animation instead."""
        self._outbox.resync = None

    def drop_animation(self) -> None:
        """Forget the animation still queued (the client switches to another run)."""
        self._outbox.discard_animation()

    def close_after(self, code: int, reason: str, final_frame: str | None = None) -> None:
        """Close once what is queued is sent; a final frame ends the run watched: it goes last."""
        if final_frame is not None:  # the run's animation still queued is obsolete
            self.unfollow()
            self.drop_animation()
            self.deliver(final_frame)
        self._outbox.close(code, reason)

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return len(self._outbox)

    @property
    def dropped(self) -> int:
        """Animation frames this client never got (it was too slow for them)."""
        return self._outbox.dropped

    @property
    def closing(self) -> tuple[int, str] | None:
        """The close code and reason, once the client is to be closed."""
        return self._outbox.closing

    @property
    def finished(self) -> bool:
        """Whether its last frame has left and its connection is being closed."""
        return self._outbox.finished

    async def next_frame(self) -> str | None:
        """For the connection's writer: the next frame, waiting for one; None when closing."""
        return await self._outbox.get()
