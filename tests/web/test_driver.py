"""The driver's command table: one row per command, and each row is what happens."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.driver import ROUTES, Driver
from app.web.sessions import new_session
from app.web.settings import Settings
from tests.conftest import run_async
from tests.run.uploadutil import series_upload
from tests.web.wsutil import EXAMPLES, example

SETTINGS = Settings()
ROOM_COMMANDS = {"join", "fork", "end_room"}


class Recorder:
    """A sink that keeps every frame, and the threads the session's methods ran in."""

    def __init__(self, session: Session) -> None:
        self.frames: list[BaseModel] = []
        self.threads: list[int] = []
        for name in dir(session):
            method = getattr(session, name)
            if not name.startswith("_") and callable(method):
                setattr(session, name, self._timed(method))

    def _timed(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.threads.append(threading.get_ident())
            return method(*args, **kwargs)

        return call

    def deliver(self, frame: BaseModel, *, droppable: bool = False) -> None:
        self.frames.append(frame)


def command(kind: str) -> p.Command:
    parsed = p.parse_command(orjson.dumps({**example(kind), "id": 1}), 2**16, 2**22)
    assert not isinstance(parsed, p.Error), parsed
    return parsed


def test_every_command_is_the_drivers_or_a_rooms_and_has_an_example() -> None:
    assert set(ROUTES) == set(p.COMMAND_TYPES) - ROOM_COMMANDS
    assert set(EXAMPLES) == set(p.COMMAND_TYPES)


@pytest.mark.parametrize("kind", sorted(ROUTES), ids=str)
def test_a_command_runs_where_its_row_says_and_stops_play_if_it_says_so(kind: str) -> None:
    route = ROUTES[kind]

    async def scenario() -> tuple[Recorder, bool, bool]:
        session = new_session(SETTINGS)
        recorder = Recorder(session)
        driver = Driver(session, SETTINGS, recorder)
        await driver.run(p.Play(type="play", steps_per_second=120))
        playing = driver.job
        await asyncio.sleep(0.05)
        await driver.locked(lambda: None)  # play's step in progress is over
        recorder.threads.clear()
        sent = command(kind)
        if isinstance(sent, p.UseUpload):  # the file a page uploads over HTTP first
            sent.upload_id = session.shelf.put(series_upload(), capacity=4)
        try:
            await driver.run(sent)
        except CommandRefused:
            assert kind in ("step_forward", "step_backward")  # play left the cursor elsewhere
        for _ in range(500):  # a job it started does some work
            if recorder.threads or kind == "pause":
                break
            await asyncio.sleep(0.01)
        stopped = playing is not None and playing.done()
        on_loop = threading.get_ident() in recorder.threads
        await driver.stop_job()
        return recorder, stopped, on_loop

    recorder, stopped, on_loop = run_async(scenario())
    assert stopped == route.stops_job
    if kind != "pause":
        assert recorder.threads, "the command did no session work"
        assert on_loop == (route.where == "loop")


def test_only_single_steps_and_hyperparameters_run_on_the_event_loop() -> None:
    on_loop = {kind for kind, route in ROUTES.items() if route.where == "loop"}
    assert on_loop == {"step_forward", "step_backward", "advance", "set_hyper"}


def test_a_train_over_the_cap_is_refused_before_play_stops() -> None:
    async def scenario() -> None:
        session = new_session(SETTINGS)
        driver = Driver(session, SETTINGS, Recorder(session))
        await driver.run(p.Play(type="play", steps_per_second=100))
        too_many = p.Train(type="train", iterations=SETTINGS.max_train_iterations + 1)
        with pytest.raises(CommandRefused) as refused:
            await driver.run(too_many)
        assert (refused.value.code, refused.value.field) == ("out_of_range", "iterations")
        assert driver.job is not None and not driver.job.done()
        await driver.stop_job()

    run_async(scenario())


def test_an_export_goes_to_its_sender_alone() -> None:
    async def scenario() -> tuple[BaseModel | None, list[BaseModel]]:
        session = new_session(SETTINGS)
        recorder = Recorder(session)
        reply = await Driver(session, SETTINGS, recorder).run(command("export"))
        return reply, recorder.frames

    reply, shown = run_async(scenario())
    assert isinstance(reply, p.ExportFrame) and shown == []
