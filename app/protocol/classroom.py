"""A classroom room's own messages: its commands (join, fork, spotlight, ...) and its frames.

A room (connect to /ws/room/CODE) shows one run to many viewers: everyone joins as a student;
the room's secret token makes a connection a teacher, the only kind whose commands drive it.
A student may fork: a private copy of the room's run, kept (parked) for a grace period when its
connection drops, and resumed with its id and secret. The teacher sees the forks as rows of a
class table, can lock forking, and can put one fork's run on everyone's screen (spotlight).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from app.engine import Activation, Cell, ClipMode, OptimizerName
from app.protocol.config import Exact, Strict
from app.protocol.wire import Number

NICKNAME_LENGTH = 24
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def _nickname(value: str) -> str | None:
    """Trimmed; printable (no control or direction-override characters); empty means none."""
    if _UNPRINTABLE.search(value):
        raise ValueError("a nickname holds printable characters only")
    return value.strip() or None


class _RoomCommand(Exact):
    id: int | None = Field(None, description="echoed in the reply, so a client can match them")


class Join(_RoomCommand):
    """Take control of the room as a teacher, with the secret token given to its creator (at
    any server process: one that does not drive the room checks the token with the one that
    does, and forwards the teacher's commands there)."""

    type: Literal["join"]
    token: str = Field(min_length=1, max_length=128, description="the room's control token")


class Fork(_RoomCommand):
    """Leave the room with a private copy of its current state, to go on from there alone."""

    type: Literal["fork"]
    nickname: str | None = Field(
        None,
        max_length=NICKNAME_LENGTH,
        description="the name the teacher's class view shows (null: anonymous, 'Student N'); "
        "trimmed, printable characters only",
    )

    @field_validator("nickname")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        return None if value is None else _nickname(value)


class ResumeFork(_RoomCommand):
    """Take back one's fork after a reconnect or a reload (before its grace period ends)."""

    type: Literal["resume_fork"]
    fork_id: str = Field(min_length=1, max_length=64, description="the forked frame's fork_id")
    secret: str = Field(min_length=1, max_length=128, description="the forked frame's secret")


class LeaveFork(_RoomCommand):
    """Free one's fork and follow the room again."""

    type: Literal["leave_fork"]


class Spotlight(_RoomCommand):
    """Teacher: show one fork's run to everyone (a copy; the teacher's commands drive it);
    null goes back to the teacher's own run."""

    type: Literal["spotlight"]
    fork_id: str | None = Field(None, min_length=1, max_length=64, description="null: my run")


class LockForks(_RoomCommand):
    """Teacher: refuse new forks (true) or allow them again (false)."""

    type: Literal["lock_forks"]
    locked: bool


class ClassCsv(_RoomCommand):
    """Teacher: the class table as CSV (a class_csv frame, to the sender only)."""

    type: Literal["class_csv"]


class EndRoom(_RoomCommand):
    """End the room (teacher only): every student's view is told, then closed."""

    type: Literal["end_room"]


RoomCommand = Join | Fork | ResumeFork | LeaveFork | Spotlight | LockForks | ClassCsv | EndRoom
TEACHER_COMMANDS = frozenset({"spotlight", "lock_forks", "class_csv", "end_room"})


# ---------------------------------------------------------------------------------- frames


class RoomFrame(Strict):
    """Your seat in a room: sent on joining, and to the teacher as students come and go."""

    type: Literal["room"] = "room"
    code: str = Field(description="the short join code")
    role: Literal["teacher", "student"]
    students: int = Field(description="students watching (kept current for the teacher)")
    join_url: str = Field(description="the link students open (the best of join_urls)")
    join_urls: list[str] = Field(
        default_factory=list,
        description="every address students could use, best first (LAN addresses when the "
        "teacher browses at a loopback address; UNROLL_PUBLIC_URL alone when it is set)",
    )
    join_hint: str | None = Field(
        None,
        description="set when the only link is one a phone cannot open (loopback, none found): "
        "what is wrong and how to fix it",
    )


class SpotlitFork(Strict):
    """The fork a room shows everyone instead of the teacher's run."""

    fork_id: str
    name: str


class RoomState(Strict):
    """What the teacher decided for the room (kept in its snapshot: late joiners get it)."""

    type: Literal["room_state"] = "room_state"
    code: str
    forking: bool = Field(description="whether students may fork now (the teacher can lock it)")
    spotlight: SpotlitFork | None = Field(
        None, description="whose run everyone sees; null: the teacher's"
    )


class Forked(Strict):
    """You forked (or resumed your fork): keep fork_id and secret to resume it after a reload."""

    type: Literal["forked"] = "forked"
    code: str
    fork_id: str
    secret: str
    name: str = Field(description="the nickname, or 'Student N'")
    grace_seconds: float = Field(description="how long the fork outlives a dropped connection")


Gradient = Literal["healthy", "vanishing", "exploding", "non_finite", "unknown"]


class ClassRow(Strict):
    """One fork, as the teacher's class view shows it."""

    fork_id: str
    name: str
    connected: bool = Field(description="false while its student is away (parked) or gone")
    cell: Cell
    activation: Activation
    hidden_size: int
    spectral_radius: Number | None = Field(description="W_hh's measured spectral radius")
    clip_mode: ClipMode
    clip_threshold: float
    optimizer: OptimizerName
    learning_rate: float
    iteration: int
    loss: Number | None = Field(description="the latest smoothed loss (null before any)")
    gradient: Gradient = Field(
        description="from the latest BPTT: non_finite (inf/NaN), exploding (the last loss's "
        "gradient grew over 1000x reaching the first step, or a global norm over 1000), "
        "vanishing (it shrank over 1000x), healthy, or unknown (no BPTT yet)"
    )
    changed: list[str] = Field(
        description="config fields that differ from the room's run at fork time"
    )


class ClassFrame(Strict):
    """Teachers: every fork of the room (sent when something changed, at most about 2/s)."""

    type: Literal["class"] = "class"
    code: str
    rows: list[ClassRow]


class ClassCsvFrame(Strict):
    """The class table as CSV (the reply to class_csv)."""

    type: Literal["class_csv"] = "class_csv"
    filename: str
    csv: str


class RoomClosed(Strict):
    """The room is over (or never existed); the server closes the connection after this."""

    type: Literal["room_closed"] = "room_closed"
    code: str
    reason: Literal["ended", "expired", "not_found", "stopped"]
    message: str


RoomReply = RoomFrame | RoomState | Forked | ClassFrame | ClassCsvFrame | RoomClosed
