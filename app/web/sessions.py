"""The sessions a server process holds: the caps a client is told, and the count against them."""

from __future__ import annotations

from app import protocol as p
from app.session import Session
from app.web.client import Client
from app.web.settings import Settings


def limits_from(settings: Settings) -> p.Limits:
    """The caps the hello frame tells the client."""
    return p.Limits(
        max_hidden_size=settings.max_hidden_size,
        max_seq_len=settings.max_seq_len,
        max_vocab=settings.max_vocab,
        max_batch=settings.max_batch,
        max_train_iterations=settings.max_train_iterations,
        max_message_bytes=settings.max_message_bytes,
        max_commands_per_second=settings.max_commands_per_second,
    )


def new_session(settings: Settings) -> Session:
    """A session with the default run, under this server's caps."""
    return Session(p.RunConfig(), limits_from(settings))


class SessionRegistry:
    """The clients of this server that drive a session of their own, capped by settings."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
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
