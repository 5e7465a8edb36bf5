"""The teacher's class view: one row per fork, sent to every teacher when something changed."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError

from app import protocol as p
from app.web.rooms.broadcast import Broadcast
from app.web.rooms.classrow import class_csv

log = logging.getLogger("unroll.rooms")

CLASS_FRAME_SECONDS = 0.5  # teachers get the class view at most this often (2 frames/s)


class ClassView:
    """The forks' rows as their processes report them; a `class` frame when they changed."""

    def __init__(self, code: str, broadcast: Broadcast, max_rows: int) -> None:
        self.code = code
        self.broadcast = broadcast
        self.max_rows = max_rows
        self.rows: dict[str, p.ClassRow] = {}
        self._due: asyncio.TimerHandle | None = None

    def update(self, row: Any) -> None:
        """A fork's process reports its row (checked: it crossed the broker)."""
        try:
            checked = p.ClassRow.model_validate(row)
        except ValidationError as exc:
            log.warning("room %s: a class row was refused: %s", self.code, exc)
            return
        self.rows[checked.fork_id] = checked  # a fork keeps its place: the order forks came
        self._trim()
        self._changed()

    def _trim(self) -> None:
        """Past max_rows, forget the oldest rows of students who are gone first."""
        while len(self.rows) > self.max_rows:
            gone = [k for k, row in self.rows.items() if not row.connected]
            del self.rows[gone[0] if gone else next(iter(self.rows))]

    def name(self, fork_id: str) -> str | None:
        """A fork's name in the class view, if it is listed."""
        row = self.rows.get(fork_id)
        return None if row is None else row.name

    def frame(self) -> p.ClassFrame:
        """Every row, in the order the forks were made."""
        return p.ClassFrame(code=self.code, rows=list(self.rows.values()))

    def csv(self) -> p.ClassCsvFrame:
        """The class as CSV."""
        return class_csv(self.code, list(self.rows.values()))

    def _changed(self) -> None:
        if self._due is None:
            loop = asyncio.get_running_loop()
            self._due = loop.call_later(CLASS_FRAME_SECONDS, self._send)

    def _send(self) -> None:
        self._due = None
        self.broadcast.to_teachers("class", p.encode(self.frame()).decode())

    def stop(self) -> None:
        """The room ended."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
