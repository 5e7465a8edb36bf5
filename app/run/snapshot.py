"""Export and import of a whole session: everything needed to continue a run exactly.

Floats travel as exact float64; the generator's 128-bit state as decimal strings. An import
rebuilds the run and replays the steps already taken in the iteration: the same arithmetic gives
the same values, so the next frames match the exporter's bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine.types import Array
from app.protocol import (
    PROTOCOL_VERSION,
    BatchState,
    DataPosition,
    ExportFrame,
    Limits,
    SessionState,
    wire_array,
    wire_number,
)
from app.run import import_checks as checks
from app.run.own import restore_own
from app.run.refusal import CommandRefused
from app.run.state import DataStart, RunState, open_run
from app.run.stepper import Iteration, Stepper
from app.tasks import Batch

EXACT = np.float64


def export_frame(run: RunState, it: Iteration) -> ExportFrame:
    """The run and the cursor inside its iteration, as JSON-able values."""
    optimizer = {k: _wire_state(v) for k, v in run.optimizer.state_dict().items()}
    state = SessionState.model_construct(
        format="unroll-session",
        protocol_version=PROTOCOL_VERSION,
        config=run.config,
        iteration=it.number,
        params={name: wire_array(value, EXACT) for name, value in run.params.items()},
        optimizer=optimizer,
        rng=_stringify_ints(run.data_rng.bit_generator.state),
        cursor=run.cursor,
        text=run.text,
        h_carry=None if run.carried is None else wire_array(run.carried, EXACT),
        smooth_loss=None if run.smooth_loss is None else wire_number(run.smooth_loss),
        loss_history=wire_array(run.loss_history, EXACT),
        samples_drawn=run.samples_drawn,
        batch=_batch_state(it.batch),
        forward_steps=it.forward_steps,
        backward_steps=it.backward_steps,
        upload=None if run.upload is None else run.upload.state(),
        drawn_from=_data_position(run.batch_start),
    )
    return ExportFrame.model_construct(type="export", state=state)


def _wire_state(value: Any) -> Any:
    """An optimizer entry as sent: arrays and floats exactly, the step count as an integer."""
    if isinstance(value, np.ndarray):
        return wire_array(value, EXACT)
    return value if isinstance(value, int) else wire_number(value)


def _data_position(start: DataStart | None) -> DataPosition | None:
    if start is None:
        return None
    rng = _stringify_ints(dict(start.rng_state))
    return DataPosition.model_construct(cursor=start.cursor, rng=rng)


def _batch_state(batch: Batch) -> BatchState:
    return BatchState.model_construct(
        inputs=batch.inputs.tolist(),
        targets=batch.targets.tolist(),
        loss_mask=_listed(batch.loss_mask),
        stateful=batch.stateful,
        decoder_inputs=_listed(batch.decoder_inputs),
        source_lengths=_listed(batch.source_lengths),
        next_cursor=batch.next_cursor,
    )


def restore(state: SessionState, limits: Limits) -> Stepper:
    """The exported session, stepped to where it was; a refusal names the field and why."""
    try:
        return _restore(state, limits)
    except CommandRefused as refusal:
        field = refusal.field
        if field is not None and not field.startswith("state."):  # the config's or the text's
            field = f"state.{field}"
        raise CommandRefused(refusal.code, f"cannot import: {refusal.message}", field) from None
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:
        raise CommandRefused("out_of_range", f"cannot import: {exc}", "state") from exc


def _restore(state: SessionState, limits: Limits) -> Stepper:
    # A fresh run of the config (its sizes checked against the limits) is the spec every saved
    # array must match: its parameters, its optimizer, a batch its task draws.
    upload = None if state.upload is None else restore_own(state.upload, state.config)
    run = open_run(state.config, limits, state.text, upload)
    reference = run.current_batch()
    run.params = checks.params(state.params, run.params)
    run.optimizer.load_state_dict(checks.optimizer_state(state.optimizer, run, state.iteration))
    run.data_rng.bit_generator.state = checks.generator_state(state.rng)
    run.cursor = state.cursor
    run.carried = checks.carried(state.h_carry, run)
    run.smooth_loss = None if state.smooth_loss is None else float(state.smooth_loss)
    run.loss_history = checks.loss_history(state.loss_history, state.iteration)
    run.samples_drawn = state.samples_drawn
    run.iteration = state.iteration
    run.batch = checks.batch(state.batch, reference, run.task)
    run.batch_start = _data_start(state.drawn_from)
    stepper = Stepper(run)
    checks.replay(stepper, state.forward_steps, state.backward_steps)
    return stepper


def _data_start(saved: DataPosition | None) -> DataStart | None:
    return None if saved is None else DataStart(saved.cursor, checks.generator_state(saved.rng))


def _listed(array: Array | None) -> list[Any] | None:
    return None if array is None else array.tolist()


def _stringify_ints(value: Any) -> Any:
    """Big integers (PCG64's 128-bit state) as strings, so JSON readers cannot round them."""
    if isinstance(value, dict):
        return {k: _stringify_ints(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value
