"""The sessions a server process holds: the caps a client is told, and the count against them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app import protocol as p
from app.web.client import Client
from app.web.settings import Settings

if TYPE_CHECKING:
    from app.web.workers.pool import Workers


def limits_from(settings: Settings) -> p.Limits:
    """The caps the hello frame tells the client."""
    return p.Limits(
        max_hidden_size=settings.max_hidden_size,
        max_seq_len=settings.max_seq_len,
        max_vocab=settings.max_vocab,
        max_batch=settings.max_batch,
        max_embedding_size=settings.max_embedding_size,
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
        self.live: set[Client] = set()

    @property
    def full(self) -> bool:
        """Whether one more session would pass the cap."""
        return len(self.live) >= self.capacity

    def try_add(self, client: Client) -> bool:
        """Register a client unless the server is full."""
        if self.full:
            return False
        self.live.add(client)
        return True

    def remove(self, client: Client) -> None:
        """Forget a closed client."""
        self.live.discard(client)
