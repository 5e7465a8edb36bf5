"""The frames that show a room's run as it is now, for a viewer who arrives or falls behind."""

from __future__ import annotations

from collections import deque

import orjson

from app.web.broker import RoomMessage

# Frames a newcomer needs the latest of, in the order it gets them; then the steps of the
# iteration in progress (from its `sequence`, or from the run's `hello`).
_LATEST = ("hello", "spectrum", "progress", "sample")
_STEPS = ("sequence", "forward", "backward", "update")


class Snapshot:
    """The latest frame of each kind a newcomer needs, and the steps of the current iteration."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.latest: dict[str, str] = {}
        self.steps: deque[str] = deque(maxlen=4096)  # an iteration holds 2T + 2 frames

    def apply(self, message: RoomMessage) -> None:
        """Take one more frame of the run."""
        self.seq = message.seq
        kind = message.kind
        if kind == "hello":  # a new run: everything before it is obsolete
            self.latest = {"hello": message.data}
            self.steps.clear()
        elif kind in _LATEST:
            self.latest[kind] = message.data
        elif kind == "sequence":
            self.steps.clear()
            self.steps.append(message.data)
        elif kind in _STEPS:
            self.steps.append(message.data)

    def frames(self) -> list[str]:
        """The frames to send, in order."""
        return [self.latest[k] for k in _LATEST if k in self.latest] + list(self.steps)

    def pack(self) -> bytes:
        """For a relay in another process."""
        return orjson.dumps({"seq": self.seq, "latest": self.latest, "steps": list(self.steps)})

    @classmethod
    def unpack(cls, raw: bytes) -> Snapshot:
        """The inverse of pack."""
        data = orjson.loads(raw)
        snapshot = cls(data["seq"])
        snapshot.latest = data["latest"]
        snapshot.steps.extend(data["steps"])
        return snapshot
