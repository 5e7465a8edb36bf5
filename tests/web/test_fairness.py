"""Fairness between sessions: light work never waits behind heavy work, a waiting client is
told its place, one client's CPU is capped, and a session moves to the kind of worker its run
needs, exactly as it was. Behaviour is asserted (order, progress), not milliseconds."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from app import protocol as p
from app.run.state import weigh
from app.session import CommandRefused, Session
from app.tasks import TASKS
from app.web.driver import Driver
from app.web.sessions import limits_from
from app.web.settings import Settings
from app.web.workers.messages import Encoded
from tests.conftest import run_async
from tests.web.hostutil import running_workers

SETTINGS = Settings(max_commands_per_second=1000)
# A run whose every request is long: its first BPTT step alone takes a good part of a second.
HEAVY = p.RunConfig(task="text", cell="lstm", hidden_size=96, seq_len=120, batch_size=32)


class Recorder:
    """A sink keeping every frame, decoded."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def deliver(self, frame: BaseModel | Encoded, *, droppable: bool = False) -> None:
        data = frame.data if isinstance(frame, Encoded) else p.encode(frame)
        self.frames.append(orjson.loads(data))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == kind]


def configure(config: p.RunConfig) -> p.Configure:
    return p.Configure(type="configure", config=config)


def test_a_light_step_is_done_while_a_heavy_neighbour_computes() -> None:
    async def scenario() -> tuple[bool, list[str]]:
        async with running_workers(SETTINGS) as workers:
            heavy = Driver(await workers.open(), SETTINGS, Recorder())
            light = Driver(await workers.open(), SETTINGS, Recorder())
            await heavy.run(configure(HEAVY))
            assert heavy.hosted.heavy and not light.hosted.heavy
            long = asyncio.create_task(heavy.run(p.FinishIteration(type="finish_iteration")))
            await asyncio.sleep(0.2)  # it is under way in the heavy worker
            stepped = []
            for _ in range(4):
                await light.run(p.Advance(type="advance"))
                stepped.append(str(light.sink.frames[-1]["type"]))  # type: ignore[attr-defined]
            still_running = not long.done()
            await long
            await heavy.close()
            await light.close()
            return still_running, stepped

    still_running, stepped = run_async(scenario())
    assert still_running and stepped == ["forward"] * 4


def test_a_client_waiting_in_a_busy_worker_is_told_its_place() -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with running_workers(SETTINGS) as workers:
            first = Driver(await workers.open(), SETTINGS, Recorder())
            second_sink = Recorder()
            second = Driver(await workers.open(), SETTINGS, second_sink)
            for driver in (first, second):
                await driver.run(configure(HEAVY))
            assert first.hosted.link is second.hosted.link  # one heavy worker
            long = asyncio.create_task(first.run(p.FinishIteration(type="finish_iteration")))
            await asyncio.sleep(0.1)
            await second.run(p.Rescale(type="rescale", spectral_radius=1.0))
            await long
            for driver in (first, second):
                await driver.close()
            return second_sink.frames

    frames = run_async(scenario())
    queued = [frame for frame in frames if frame["type"] == "queued"]
    assert queued[0]["reason"] == "workers" and queued[0]["position"] == 1
    assert queued[-1]["position"] == 0  # told when it is no longer waiting
    last_wait = max(i for i, frame in enumerate(frames) if frame["type"] == "queued")
    assert frames[last_wait + 1]["type"] == "sequence"  # then its work came


def test_one_client_cannot_hold_the_workers_with_back_to_back_training() -> None:
    share = 0.05
    settings = SETTINGS.model_copy(
        update={"client_cpu_share": share, "client_cpu_burst_seconds": 0.2}
    )

    async def scenario() -> tuple[Recorder, float, float]:
        async with running_workers(settings) as workers:
            sink = Recorder()
            driver = Driver(await workers.open(), settings, sink)
            loop = asyncio.get_running_loop()
            started = loop.time()
            await driver.run(p.Train(type="train", iterations=5000))
            while not sink.of("queued"):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)  # throttled: it goes on at its share
            await driver.run(p.Pause(type="pause"))
            elapsed = loop.time() - started
            used = settings.client_cpu_burst_seconds - driver.hosted.cpu._tokens
            await driver.close()
            return sink, elapsed, used

    sink, elapsed, used = run_async(scenario())
    waits = sink.of("queued")
    assert waits[0]["reason"] == "cpu" and waits[0]["seconds"] > 0
    assert sink.of("progress")[-1]["iteration"] < 5000
    # What it used: its burst, its share of the time since, and one slice beyond.
    assert used <= settings.client_cpu_burst_seconds + share * elapsed + 0.1


def test_a_session_moves_where_its_run_belongs_and_goes_on_exactly() -> None:
    light_again = p.RunConfig(task="text", hidden_size=8, seq_len=6, batch_size=2)

    async def scenario() -> tuple[list[bool], list[dict[str, Any]]]:
        async with running_workers(SETTINGS) as workers:
            sink = Recorder()
            driver = Driver(await workers.open(), SETTINGS, sink)
            kinds = [driver.hosted.heavy]
            await driver.run(configure(HEAVY))
            kinds.append(driver.hosted.heavy)
            await driver.run(configure(light_again))
            kinds.append(driver.hosted.heavy)
            for _ in range(3):
                await driver.run(p.Advance(type="advance"))
            counts = [link.sessions for link in workers.links]
            await driver.close()
            assert sorted(counts) == [0, 1]
            return kinds, sink.of("forward")

    kinds, moved = run_async(scenario())
    assert kinds == [False, True, False]
    reference = Session(light_again, limits_from(SETTINGS))
    expected = [orjson.loads(p.encode(reference.step_forward())) for _ in range(3)]
    assert moved == expected  # the same run, bit for bit


def test_the_server_wide_budget_refuses_a_run_naming_what_fits() -> None:
    big = p.RunConfig(task="text", hidden_size=64, seq_len=50, batch_size=16)
    fits = weigh(TASKS["text"], big.model_copy(update={"hidden_size": 16})).bytes

    async def scenario() -> tuple[CommandRefused, CommandRefused, dict[int, int]]:
        async with running_workers(SETTINGS) as workers:
            driver = Driver(await workers.open(), SETTINGS, Recorder())
            workers.budget = workers.baseline + sum(workers.committed.values()) + fits
            with pytest.raises(CommandRefused) as refused:
                await driver.run(configure(big))
            workers.budget = workers.baseline + sum(workers.committed.values())  # all taken
            with pytest.raises(CommandRefused) as fresh:
                await workers.open()
            await driver.close()
            return refused.value, fresh.value, dict(workers.reserved)

    refused, fresh, reserved = run_async(scenario())
    assert (refused.code, refused.field) == ("over_budget", "config.hidden_size")
    assert refused.message.startswith("hidden_size: at most 16 fits the ")
    assert "of memory this server has left" in refused.message
    assert fresh.code == "over_budget"  # not even the lesson's default run fits now
    assert reserved == {}  # nothing stays claimed after a refusal
