"""A room's spotlight: one student's fork, copied and shown to everyone in the teacher's place.

The owner fetches the fork's export from the process holding it and opens it as a second run
of the room; the room's broadcast shows its frames (its hello resets every view), and the
teacher's commands drive the copy. Back to the teacher's run, the teacher's frames as they were
(kept aside at the switch) are shown again. The teacher's own run waits, its job stopped.
"""

from __future__ import annotations

import orjson

from app import protocol as p
from app.session import CommandRefused
from app.web.broker import BROKER_ERRORS, Broker
from app.web.driver import Driver
from app.web.rooms.broadcast import Broadcast
from app.web.rooms.classview import ClassView
from app.web.rooms.forks import fork_channel, split_export
from app.web.rooms.snapshot import Snapshot
from app.web.sessions import SessionRegistry
from app.web.settings import Settings

EXPORT_OP = orjson.dumps({"op": "export"})


class Spotlight:
    """Which run a room shows: the teacher's (driver None) or a copy of a fork's."""

    def __init__(
        self,
        own: Driver,
        broadcast: Broadcast,
        classview: ClassView,
        services: tuple[Settings, SessionRegistry, Broker],
    ) -> None:
        self.own = own
        self.broadcast = broadcast
        self.classview = classview
        self.settings, self.sessions, self.broker = services
        self.driver: Driver | None = None
        self.spotlit: p.SpotlitFork | None = None
        self._saved: list[tuple[str, str]] | None = None  # the teacher's frames, at the switch

    async def show(self, fork_id: str | None) -> None:
        """Show a copy of this fork's run to everyone; None: the teacher's own run again."""
        if fork_id is None:
            await self._back()
            return
        name = self.classview.name(fork_id)
        if name is None:
            raise CommandRefused("not_found", f"no fork {fork_id} in this room", "fork_id")
        try:
            exported = await self.broker.owners.request(fork_channel(fork_id), EXPORT_OP)
        except BROKER_ERRORS as exc:
            message = f"fork {fork_id} cannot be shown (its student left): {exc}"
            raise CommandRefused("not_found", message, "fork_id") from exc
        _, packed, state = split_export(exported)
        hosted = await self.sessions.workers.open(state)
        if self.driver is None:
            await self.own.stop_job()
            self._saved = self.broadcast.snapshot.run_messages()
        else:
            await self.driver.close()
        self.driver = Driver(hosted, self.settings, self.broadcast)
        self.spotlit = p.SpotlitFork(fork_id=fork_id, name=name)
        self.broadcast.replay(Snapshot.unpack(packed).run_messages())

    async def _back(self) -> None:
        if self.driver is None:
            return
        driver, self.driver, self.spotlit = self.driver, None, None
        await driver.close()
        saved, self._saved = self._saved or [], None
        self.broadcast.replay(saved)

    async def close(self) -> None:
        """The room ended."""
        if self.driver is not None:
            driver, self.driver = self.driver, None
            await driver.close()
