"""The frames that show a room's run as it is now, for a viewer who arrives or falls behind."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import orjson

from app import protocol as p
from app.web.broker import RoomMessage
from app.web.workers.messages import Encoded

# Frames a newcomer needs the latest of, in the order it gets them; then the steps of the
# iteration in progress (from its `sequence`, or from the run's `hello`), with the latest `replay`
# (the iteration run whole, sent while and after training) where it came. In place of
# "progress" it gets the run's latest HISTORY_KEPT `progress` and `update` frames, in order: the
# training chart's points. The room's `room_state` outlives a new run (a hello); a `hyper` frame
# (knobs turned mid-run) patches the hello's config, so a newcomer's knobs show them.
_LATEST = ("hello", "spectrum", "progress", "sample", "room_state")
HISTORY_KEPT = 200  # progress and update frames are a few hundred bytes each


class Snapshot:
    """The latest frame of each kind a newcomer needs, and the steps of the current iteration."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self.latest: dict[str, str] = {}
        self.history: deque[str] = deque(maxlen=HISTORY_KEPT)  # progress and update frames
        self.steps: deque[str] = deque(maxlen=4096)  # an iteration holds 2T + 2 frames
        self.replay: tuple[int, str] | None = None  # the latest replay, and after which step

    def apply(self, message: RoomMessage) -> None:
        """Take one more frame of the run (a message of another kind only moves `seq` on)."""
        self.seq = message.seq
        take = _TAKE.get(message.kind)
        if take is not None:
            take(self, message.data)
        elif message.kind in _LATEST:
            self.latest[message.kind] = message.data

    def _hello(self, data: str) -> None:
        """A new run: everything before it is obsolete, but the room's state."""
        kept = self.latest.get("room_state")
        self.latest = {"hello": data} if kept is None else {"hello": data, "room_state": kept}
        self.history.clear()
        self._sequence(None)

    def _sequence(self, data: str | None) -> None:
        """A new iteration: its steps start over."""
        self.steps.clear()
        self.replay = None
        if data is not None:
            self.steps.append(data)

    def _update(self, data: str) -> None:
        self.steps.append(data)
        self.history.append(data)

    def _replay(self, data: str) -> None:
        """The iteration run whole (while and after training): only the latest is kept, where
        it came among the steps."""
        self.replay = (len(self.steps), data)

    def _patch_config(self, data: str) -> None:
        """Knobs turned mid-run: the hello a newcomer gets carries the config as it is now."""
        hello = self.latest.get("hello")
        if hello is not None:
            frame = orjson.loads(hello)
            frame["config"] = orjson.loads(data)["config"]
            self.latest["hello"] = orjson.dumps(frame).decode()

    def hyper(self, changes: dict[str, Any]) -> Encoded | None:
        """The `hyper` frame telling every viewer the run's config after `changes` (set_hyper's
        fields are config fields); None before the run's hello."""
        hello = self.latest.get("hello")
        if hello is None:
            return None
        config = {**orjson.loads(hello)["config"], **changes}
        return Encoded("hyper", orjson.dumps({"type": "hyper", "config": config}))

    def frames(self) -> list[str]:
        """The frames to send, in order."""
        frames: list[str] = []
        for kind in _LATEST:
            if kind == "progress":
                frames += self._points()
            elif kind in self.latest:
                frames.append(self.latest[kind])
        return frames + self._steps()

    def _steps(self) -> list[str]:
        """The iteration's steps, with the latest replay where it came."""
        steps = list(self.steps)
        if self.replay is not None:
            steps.insert(*self.replay)
        return steps

    def _points(self) -> list[str]:
        """The history, but an update the steps hold too (the iteration just done)."""
        points = list(self.history)
        if points and self.steps and points[-1] == self.steps[-1]:
            points.pop()
        return points

    def run_messages(self) -> list[tuple[str, str]]:
        """The run's frames (not the room's state) with their kinds, to show them again."""
        kinds = [(k, d) for k in ("hello", "spectrum") if (d := self.latest.get(k)) is not None]
        kinds += [(_kind(d), d) for d in self._points()]
        if "sample" in self.latest:
            kinds.append(("sample", self.latest["sample"]))
        return kinds + [(_kind(step), step) for step in self._steps()]

    def pack(self) -> bytes:
        """For a relay in another process."""
        return orjson.dumps(
            {
                "seq": self.seq,
                "latest": self.latest,
                "history": list(self.history),
                "steps": list(self.steps),
                "replay": self.replay,
            }
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Snapshot:
        """The inverse of pack."""
        data = orjson.loads(raw)
        snapshot = cls(data["seq"])
        snapshot.latest = data["latest"]
        snapshot.history.extend(data.get("history", ()))
        snapshot.steps.extend(data["steps"])
        replay = data.get("replay")
        snapshot.replay = None if replay is None else (int(replay[0]), str(replay[1]))
        return snapshot


_TAKE: dict[str, Callable[[Snapshot, str], None]] = {
    "hello": Snapshot._hello,
    "sequence": Snapshot._sequence,
    "forward": lambda snapshot, data: snapshot.steps.append(data),
    "backward": lambda snapshot, data: snapshot.steps.append(data),
    "update": Snapshot._update,
    "progress": lambda snapshot, data: snapshot.history.append(data),
    "replay": Snapshot._replay,
    "hyper": Snapshot._patch_config,
}


def _kind(data: str) -> str:
    """An encoded frame's type."""
    return str(orjson.loads(data)["type"])


def retuned(command: object, snapshot: Snapshot) -> Encoded | None:
    """After a set_hyper: the `hyper` frame of the run's new config (None for other commands)."""
    if not isinstance(command, p.SetHyper):
        return None
    return snapshot.hyper(command.model_dump(exclude_none=True, exclude={"type", "id"}))
