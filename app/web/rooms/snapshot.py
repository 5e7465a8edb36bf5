"""The frames that show a room's run as it is now, for a viewer who arrives or falls behind."""

from __future__ import annotations

from collections import deque

import orjson

from app.web.broker import RoomMessage

# Frames a newcomer needs the latest of, in the order it gets them; then the steps of the
# iteration in progress (from its `sequence`, or from the run's `hello`). Of `progress` it gets
# the last PROGRESS_KEPT (a training chart drawn from them), and the room's `room_state`, which
# outlives a new run (a hello).
_LATEST = ("hello", "spectrum", "progress", "sample", "room_state")
_STEPS = ("sequence", "forward", "backward", "update")
PROGRESS_KEPT = 200  # progress frames are a few hundred bytes each


class Snapshot:
    """The latest frame of each kind a newcomer needs, and the steps of the current iteration."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.latest: dict[str, str] = {}
        self.progress: deque[str] = deque(maxlen=PROGRESS_KEPT)
        self.steps: deque[str] = deque(maxlen=4096)  # an iteration holds 2T + 2 frames

    def apply(self, message: RoomMessage) -> None:
        """Take one more frame of the run (a message of another kind only moves `seq` on)."""
        self.seq = message.seq
        kind = message.kind
        if kind == "hello":  # a new run: everything before it is obsolete, but the room's state
            kept = self.latest.get("room_state")
            self.latest = {"hello": message.data}
            if kept is not None:
                self.latest["room_state"] = kept
            self.progress.clear()
            self.steps.clear()
        elif kind == "progress":
            self.progress.append(message.data)
        elif kind in _LATEST:
            self.latest[kind] = message.data
        elif kind == "sequence":
            self.steps.clear()
            self.steps.append(message.data)
        elif kind in _STEPS:
            self.steps.append(message.data)

    def frames(self) -> list[str]:
        """The frames to send, in order."""
        frames: list[str] = []
        for kind in _LATEST:
            if kind == "progress":
                frames += self.progress
            elif kind in self.latest:
                frames.append(self.latest[kind])
        return frames + list(self.steps)

    def run_messages(self) -> list[tuple[str, str]]:
        """The run's frames (not the room's state) with their kinds, to show them again."""
        kinds = [(k, d) for k in ("hello", "spectrum") if (d := self.latest.get(k)) is not None]
        kinds += [("progress", d) for d in self.progress]
        if "sample" in self.latest:
            kinds.append(("sample", self.latest["sample"]))
        return kinds + [(orjson.loads(step)["type"], step) for step in self.steps]

    def pack(self) -> bytes:
        """For a relay in another process."""
        return orjson.dumps(
            {
                "seq": self.seq,
                "latest": self.latest,
                "progress": list(self.progress),
                "steps": list(self.steps),
            }
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Snapshot:
        """The inverse of pack."""
        data = orjson.loads(raw)
        snapshot = cls(data["seq"])
        snapshot.latest = data["latest"]
        snapshot.progress.extend(data.get("progress", ()))
        snapshot.steps.extend(data["steps"])
        return snapshot
