"""The replay: the iteration in progress run whole for the views, without moving the run."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import orjson
import pytest
from pydantic import BaseModel

from app import protocol as p
from app.web import driver as driver_module
from app.web.driver import Driver
from app.web.settings import Settings
from app.web.workers.messages import Encoded
from tests.conftest import run_async
from tests.test_session import make, preset, wire
from tests.web.hostutil import running_workers

SETTINGS = Settings()


@pytest.mark.parametrize("name", ["hello", "gradients-relu-1.5", "numbers"])
def test_a_replay_is_the_iteration_stepped_whole_and_moves_nothing(name: str) -> None:
    session = preset(name) if name != "hello" else make()
    session.train(3)
    params = {key: value.copy() for key, value in session.run.params.items()}
    opening = wire(session.sequence())
    replay = session.replay()
    assert session.stepper.next_move == "forward" and session.iteration.forward_steps == 0
    assert all(np.array_equal(params[key], value) for key, value in session.run.params.items())
    frames = session.finish_iteration()  # the same iteration, stepped for real
    assert [wire(f) for f in replay.forward] == [
        wire(f) for f in frames if isinstance(f, p.ForwardFrame)
    ]
    assert [wire(f) for f in replay.backward] == [
        wire(f) for f in frames if isinstance(f, p.BackwardFrame)
    ]
    assert wire(replay.sequence) == opening and replay.iteration == 3
    assert p.frame_adapter.validate_json(p.encode(replay)).type == "replay"


class Sink:
    """Every frame delivered (as the page reads it), with its lane."""

    def __init__(self) -> None:
        self.frames: list[tuple[dict[str, Any], bool]] = []

    def deliver(self, frame: BaseModel | Encoded, *, droppable: bool = False) -> None:
        data = frame.data if isinstance(frame, Encoded) else p.encode(frame)
        self.frames.append((orjson.loads(data), droppable))


def test_training_sends_replays_as_droppable_animation_and_one_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(driver_module, "REPLAY_INTERVAL_SECONDS", 0.0)

    async def scenario() -> list[tuple[dict[str, Any], bool]]:
        sink = Sink()
        async with running_workers(SETTINGS) as workers:
            driver = Driver(await workers.open(), SETTINGS, sink)
            await driver.run(p.Train(type="train", iterations=40))
            await asyncio.wait_for(driver.job, 30)  # type: ignore[arg-type]
            await driver.close()
        return sink.frames

    frames = run_async(scenario())
    kinds = [(frame["type"], droppable) for frame, droppable in frames]
    assert ("replay", True) in kinds[:-3]  # while training: animation a slow client may miss
    assert [kind for kind, _ in kinds[-3:]] == ["sequence", "spectrum", "replay"]
    assert kinds[-1] == ("replay", False)  # the last picture always arrives
    final, sequence = frames[-1][0], frames[-3][0]
    assert final["iteration"] == sequence["iteration"] == 40
    assert final["sequence"] == sequence
