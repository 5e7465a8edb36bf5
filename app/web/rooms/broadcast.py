"""A room's frames, each encoded once: to its teachers, into its snapshot, onto its channel."""

from __future__ import annotations

from pydantic import BaseModel

from app import protocol as p
from app.web.broker import RoomChannels, RoomMessage
from app.web.client import CLOSE_NORMAL, CLOSE_POLICY, Client
from app.web.outbox import ClientNotReading
from app.web.rooms.snapshot import Snapshot
from app.web.workers.messages import Encoded


class Broadcast:
    """Where a room's driver delivers: the teachers here, and the students of every process."""

    def __init__(self, code: str, channels: RoomChannels) -> None:
        self.code = code
        self.channels = channels
        self.teachers: set[Client] = set()
        self.snapshot = Snapshot()
        self.seq = 0
        self.version = 0  # bumped by every frame and every teacher command: keys the export cache

    def deliver(self, frame: BaseModel | Encoded, *, droppable: bool = False) -> None:
        """Encode once; to the teachers as to a private session's client, and to every student."""
        data = frame.text if isinstance(frame, Encoded) else p.encode(frame).decode()
        self._to_local_teachers(data, droppable)
        self.seq += 1
        self.version += 1
        message = RoomMessage(self.seq, str(getattr(frame, "type", "")), data)
        self.snapshot.apply(message)
        self.channels.publish(self.code, message)

    def to_teachers(self, kind: str, data: str, *, local: bool = True) -> None:
        """A frame for teachers only (the class view, the student count): to the teachers here
        (unless `local` is false) and, on the channel, to those seated at other processes."""
        if local:
            self._to_local_teachers(data, droppable=kind == "count")
        self.seq += 1
        message = RoomMessage(self.seq, f"teachers:{kind}", data)
        self.snapshot.apply(message)  # moves its seq on: a relay's replica keeps in step
        self.channels.publish(self.code, message)

    def _to_local_teachers(self, data: str, droppable: bool) -> None:
        for teacher in list(self.teachers):
            try:
                teacher.deliver(data, droppable=droppable)
            except ClientNotReading:  # a teacher tab that stopped reading must not stop the room
                self.teachers.discard(teacher)
                teacher.close_after(CLOSE_POLICY, "client is not reading its replies")

    def replay(self, frames: list[tuple[str, str]]) -> None:
        """Show a run's frames again (its hello first resets every view)."""
        for kind, data in frames:
            self.deliver(Encoded(kind, data.encode()))

    def announce_end(self, data: str) -> None:
        """The room's last message (its room_closed frame): every process lets its students go."""
        self.seq += 1
        self.channels.publish(self.code, RoomMessage(self.seq, "room_closed", data))

    def dismiss_teachers(self, data: str) -> None:
        """Send the teachers the room_closed frame, then close them politely."""
        for teacher in self.teachers:
            teacher.close_after(CLOSE_NORMAL, "the room is over", data)
        self.teachers.clear()
