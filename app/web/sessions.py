"""The sessions a server process holds: the caps a client is told, and the count against them."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app import protocol as p
from app.web.settings import Settings

if TYPE_CHECKING:
    from app.web.driver import Driver
    from app.web.workers.pool import Workers


def limits_from(settings: Settings) -> p.Limits:
    """The caps the hello frame tells the client."""
    return p.Limits(
        max_hidden_size=settings.max_hidden_size,
        max_embedding_size=settings.max_embedding_size,
        max_seq_len=settings.max_seq_len,
        max_vocab=settings.max_vocab,
        max_batch=settings.max_batch,
        max_train_iterations=settings.max_train_iterations,
        max_message_bytes=settings.max_message_bytes,
        max_commands_per_second=settings.max_commands_per_second,
    )


class SessionRegistry:
    """The clients of this server that drive a session of their own, capped by settings, and
    the workers their sessions live in."""

    def __init__(self, capacity: int, workers: Workers) -> None:
        self.capacity = capacity
        self.workers = workers
        self.live: set[Hashable] = set()  # clients of private sessions, and students' forks
        self._uploadable: dict[str, Driver] = {}  # playground sessions, by the page's session id

    @property
    def full(self) -> bool:
        """Whether one more session would pass the cap."""
        return len(self.live) >= self.capacity

    def try_add(self, client: Hashable) -> bool:
        """Register a client (or a fork, parked or not) unless the server is full."""
        if self.full:
            return False
        self.live.add(client)
        return True

    def remove(self, client: Hashable) -> None:
        """Forget a closed client (or a freed fork)."""
        self.live.discard(client)

    @contextmanager
    def uploadable(self, driver: Driver) -> Iterator[None]:
        """Uploads over HTTP reach the driver's session (by its id) while this block runs."""
        session_id = driver.hosted.session_id
        assert session_id is not None, "the session is open"
        self._uploadable[session_id] = driver
        try:
            yield
        finally:
            del self._uploadable[session_id]

    def find(self, session_id: str) -> Driver | None:
        """The driver of the playground session with this id, if it is connected."""
        return self._uploadable.get(session_id)
