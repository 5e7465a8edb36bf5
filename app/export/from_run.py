"""A session's run as a script: from its start (its seed, or a loaded model) or from now.

From now, the script starts where the run's current iteration started: its weights, the
optimizer's state, the state carried in, and the data's position before the iteration's batch
was drawn (the session draws each batch ahead, to show it), so the script's first iteration is
the one on screen and its losses are the ones Session.train reports next.
"""

from __future__ import annotations

from typing import Literal

from app.engine import make_optimizer
from app.export.numpy_script import RunPoint, numpy_script
from app.inputs import InputError
from app.protocol import ScriptFrame
from app.run.state import DataStart, RunState, generators, initial_weights

Start = Literal["seed", "now"]


def starting_point(run: RunState) -> RunPoint | None:
    """Iteration 0 of a run on a loaded model (its weights); None where the seed draws them."""
    if run.upload is None or run.upload.model is None:
        return None
    config = run.config
    weights_rng, data_rng = generators(config.seed)
    _, params, _ = initial_weights(run.task, config, run.upload, weights_rng)
    optimizer = make_optimizer(config.optimizer, config.learning_rate).state_dict()
    return RunPoint(0, params, optimizer, 0, data_rng.bit_generator.state)


def current_point(run: RunState) -> RunPoint:
    """Where the run's current iteration started; InputError if the run cannot say."""
    start = (
        DataStart(run.cursor, run.data_rng.bit_generator.state)
        if run.batch is None
        else run.batch_start
    )
    if start is None:
        message = (
            "this run was opened from a file saved without its data position: finish this "
            "iteration, then export from now"
        )
        raise InputError("start", message)
    return RunPoint(
        iteration=run.iteration,
        params=run.params,
        optimizer=run.optimizer.state_dict(),
        cursor=start.cursor,
        rng_state=start.rng_state,
        state=run.carried,
    )


def script_frame(run: RunState, iterations: int, start: Start) -> ScriptFrame:
    """The run as a script of `iterations` iterations; InputError for what it cannot carry."""
    point = current_point(run) if start == "now" else starting_point(run)
    source = numpy_script(run.task, run.config, run.net, iterations, point)
    first = 1 if point is None else point.iteration + 1
    last = first + iterations - 1
    config = run.config
    filename = f"unroll-{config.task}-seed{config.seed}-iterations-{first}-{last}.py"
    return ScriptFrame(filename=filename, source=source, first_iteration=first, last_iteration=last)
