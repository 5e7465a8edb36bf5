"""The driver's command table: one row per command, and each row is what happens.

Every row's session work is done in a worker process: no session ever lives in the server's.
"""

from __future__ import annotations

import asyncio
import gc

import orjson
import pytest
from pydantic import BaseModel

from app import protocol as p
from app.session import CommandRefused, Session
from app.web.driver import ROUTES, Driver
from app.web.settings import Settings
from app.web.workers.hosted import Hosted
from app.web.workers.messages import Encoded
from tests.conftest import run_async
from tests.web.hostutil import running_workers, upload_csv
from tests.web.wsutil import EXAMPLES, example

SETTINGS = Settings()
ROOM_COMMANDS = {
    "join",
    "fork",
    "resume_fork",
    "leave_fork",
    "spotlight",
    "lock_forks",
    "class_csv",
    "end_room",
}


class Recorder:
    """A sink that keeps every frame's type."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def deliver(self, frame: BaseModel | Encoded, *, droppable: bool = False) -> None:
        self.frames.append(str(getattr(frame, "type", "")))


def command(kind: str) -> p.Command:
    parsed = p.parse_command(orjson.dumps({**example(kind), "id": 1}), 2**16, 2**22)
    assert not isinstance(parsed, p.Error), parsed
    return parsed


def test_every_command_is_the_drivers_or_a_rooms_and_has_an_example() -> None:
    assert set(ROUTES) == set(p.COMMAND_TYPES) - ROOM_COMMANDS
    assert set(EXAMPLES) == set(p.COMMAND_TYPES)


def test_every_command_is_done_in_a_worker_and_stops_play_if_its_row_says_so() -> None:
    async def scenario() -> dict[str, tuple[bool, int]]:
        seen: dict[str, tuple[bool, int]] = {}
        async with running_workers(SETTINGS) as workers:
            for kind in sorted(ROUTES):
                hosted = await workers.open()
                driver = Driver(hosted, SETTINGS, Recorder())
                await driver.run(p.Play(type="play", steps_per_second=120))
                playing = driver.job
                while hosted.requests < 3:  # play has stepped
                    await asyncio.sleep(0.01)
                sent = command(kind)
                if isinstance(sent, p.UseUpload):  # the file a page uploads over HTTP first
                    sent.upload_id = await upload_csv(driver)
                before = hosted.requests
                try:
                    await driver.run(sent)
                except CommandRefused:
                    assert kind in ("step_forward", "step_backward")  # play left the cursor
                for _ in range(500):  # a job it started does some work
                    if hosted.requests > before or kind == "pause":
                        break
                    await asyncio.sleep(0.01)
                stopped = playing is not None and playing.done()
                seen[kind] = (stopped, hosted.requests - before)
                await driver.close()
        return seen

    seen = run_async(scenario())
    for kind, (stopped, requests) in seen.items():
        assert stopped == ROUTES[kind].stops_job, kind
        assert requests > 0 or kind == "pause", f"{kind} sent its worker nothing"
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, Session)] == []  # none in this process


def test_only_single_steps_and_hyperparameters_jump_the_workers_queue() -> None:
    interactive = {kind for kind, route in ROUTES.items() if route.lane == "interactive"}
    assert interactive == {"step_forward", "step_backward", "advance", "set_hyper"}
    assert {kind for kind, route in ROUTES.items() if route.big_input} == {"import", "use_upload"}


def test_a_train_over_the_cap_is_refused_before_play_stops() -> None:
    async def scenario() -> None:
        async with running_workers(SETTINGS) as workers:
            driver = Driver(await workers.open(), SETTINGS, Recorder())
            await driver.run(p.Play(type="play", steps_per_second=100))
            too_many = p.Train(type="train", iterations=SETTINGS.max_train_iterations + 1)
            with pytest.raises(CommandRefused) as refused:
                await driver.run(too_many)
            assert (refused.value.code, refused.value.field) == ("out_of_range", "iterations")
            assert driver.job is not None and not driver.job.done()
            await driver.close()

    run_async(scenario())


def test_an_export_goes_to_its_sender_alone() -> None:
    async def scenario() -> tuple[str | None, list[str]]:
        async with running_workers(SETTINGS) as workers:
            recorder = Recorder()
            driver = Driver(await workers.open(), SETTINGS, recorder)
            reply = await driver.run(command("export"))
            await driver.close()
            return reply, recorder.frames

    reply, shown = run_async(scenario())
    assert reply is not None and orjson.loads(reply)["type"] == "export" and shown == []


def test_a_closed_session_is_gone_from_its_worker_and_the_ledger() -> None:
    async def scenario() -> tuple[list[int], dict[int, int], Hosted]:
        async with running_workers(SETTINGS) as workers:
            hosted = await workers.open()
            assert workers.committed == {hosted.key: workers.committed[hosted.key]}
            await Driver(hosted, SETTINGS, Recorder()).close()
            return [link.sessions for link in workers.links], workers.committed, hosted

    sessions, committed, hosted = run_async(scenario())
    assert sessions == [0, 0] and committed == {} and hosted.link is None
