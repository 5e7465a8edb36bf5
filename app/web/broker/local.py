"""The broker's jobs inside one process: rooms, followers and owners are plain objects."""

from __future__ import annotations

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


class LocalDirectory(RoomDirectory):
    """The codes of this process's rooms; nothing expires (the owner releases its code)."""

    def __init__(self) -> None:
        self._codes: set[str] = set()

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


class LocalChannels(RoomChannels):
    """A publish is a call of the room's one listener."""

    def __init__(self) -> None:
        self._listeners: dict[str, Listener] = {}

    def publish(self, code: str, message: RoomMessage) -> None:
        listener = self._listeners.get(code)
        if listener is not None:
            listener(message)

    async def subscribe(self, code: str, listener: Listener) -> None:
        self._listeners[code] = listener

    async def unsubscribe(self, code: str, listener: Listener) -> None:
        if self._listeners.get(code) == listener:  # bound methods: equal, not identical
            del self._listeners[code]


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


def local_broker() -> Broker:
    """Rooms in this process only (the embedded default)."""
    return Broker(LocalDirectory(), LocalChannels(), LocalOwnerCalls())
