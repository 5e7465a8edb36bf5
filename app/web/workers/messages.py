"""What the server process and a worker say to each other, and how each message is framed.

Every message is a length-prefixed pickle over a Unix socket pair. The server sends requests;
the worker answers each with a Reply (its frames already encoded), and may ask the server for
memory first (a Claim: the server-wide budget is kept in one place).
"""

from __future__ import annotations

import pickle
import socket
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from app.run.shelf import Shelf

HEADER = struct.Struct("!I")  # a message's length in bytes

Lane = Literal["interactive", "batch"]  # interactive requests run before any waiting batch work
Op = Literal["open", "command", "call", "upload", "export", "close"]


class WorkerLost(Exception):
    """The worker holding a session stopped (it crashed or was killed); the session is gone."""


@dataclass
class SealedImport:
    """An import too large to parse on the event loop: its worker parses and validates it."""

    raw: str | bytes
    id: int | None = None  # known once the worker has read it
    type: str = "import"


@dataclass(frozen=True)
class Grant:
    """What a session may take where its run is opened (see app.run.budget.Allowance)."""

    session_bytes: int | None
    seconds: float | None  # the longest request this kind of worker takes; None: any


@dataclass(frozen=True)
class Request:
    """Work for a worker: an op on one of its sessions."""

    id: int
    op: Op
    key: int  # the session, among this worker's
    payload: Any = None
    lane: Lane = "batch"
    grant: Grant | None = None


@dataclass(frozen=True)
class Claim:
    """A worker asks for the memory a run it is about to open needs (worker to server)."""

    request: int
    bytes: int


@dataclass(frozen=True)
class Granted:
    """The answer to a Claim: None if the memory is the run's, else what the server has left."""

    free: int | None


@dataclass(frozen=True)
class Encoded:
    """A frame encoded once, with its type (rooms keep the latest frame of each type)."""

    type: str
    data: bytes

    @property
    def text(self) -> str:
        """The frame as the websocket sends it."""
        return self.data.decode()


@dataclass(frozen=True)
class Refusal:
    """A command refused by its session (an Error frame's fields)."""

    code: str
    message: str
    field: str | None = None
    line: int | None = None  # where in an uploaded file, when it is known
    column: int | None = None


@dataclass
class Reply:
    """What a request did: its frames, or a refusal; what it cost; what the session weighs now."""

    id: int
    frames: list[Encoded] = field(default_factory=list)
    refusal: Refusal | None = None
    misplaced: bool = False  # the run is too heavy for this kind of worker: nothing was done
    failed: bool = False  # a bug in the session's code (logged by the worker); nothing changed
    command_id: int | None = None  # a sealed import's id, once read
    state: bytes | None = None  # an export of the whole session (moves and forks)
    shelf: Shelf | None = None  # its uploads, which a move takes along
    session_id: str | None = None  # the session's id (the page's), which a move keeps
    cpu: float = 0.0  # seconds of CPU the request took
    bytes: int = 0  # the session's estimated peak memory, uploads included (0 once closed)
    uploads: int = 0  # what its uploads hold of that
    seconds: float = 0.0  # the session's longest request, estimated


class Channel:
    """The worker's end of the socket: blocking sends and framed reads."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def send(self, message: object) -> None:
        """Send one message whole."""
        self.sock.sendall(frame_message(message))

    def receive(self, *, block: bool) -> object | None:
        """The next message; None if none is complete and `block` is false. EOFError at EOF."""
        while True:
            message = self._take()
            if message is not None:
                return message
            self.sock.setblocking(block)
            try:
                chunk = self.sock.recv(1 << 20)
            except BlockingIOError:
                return None
            finally:
                self.sock.setblocking(True)
            if not chunk:
                raise EOFError("the server closed the socket")
            self._buffer += chunk

    def _take(self) -> object | None:
        if len(self._buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buffer)
        end = HEADER.size + size
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[HEADER.size : end])
        del self._buffer[:end]
        return pickle.loads(body)


def frame_message(message: object) -> bytes:
    """One message as the server writes it to a worker's socket."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body
