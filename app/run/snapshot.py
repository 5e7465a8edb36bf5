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
    from_wire,
    wire_array,
    wire_number,
)
from app.run.own import restore_own
from app.run.refusal import CommandRefused
from app.run.state import DataStart, RunState, open_run
from app.run.stepper import Iteration, Stepper
from app.tasks import Batch, Task

EXACT = np.float64


def export_frame(run: RunState, it: Iteration) -> ExportFrame:
    """The run and the cursor inside its iteration, as JSON-able values."""
    optimizer = {
        k: wire_array(v, EXACT) if isinstance(v, np.ndarray) else wire_number(v)
        for k, v in run.optimizer.state_dict().items()
    }
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
    """The exported session, stepped to where it was; a refusal says why it cannot be."""
    try:
        return _restore(state, limits)
    except CommandRefused as refusal:
        field = refusal.field.replace("config", "state.config", 1) if refusal.field else None
        raise CommandRefused(refusal.code, f"cannot import: {refusal.message}", field) from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise CommandRefused("out_of_range", f"cannot import: {exc}", "state") from exc


def _restore(state: SessionState, limits: Limits) -> Stepper:
    upload = None if state.upload is None else restore_own(state.upload, state.config)
    run = open_run(state.config, limits, state.text, upload)
    params = {name: from_wire(value).astype(run.net.dtype) for name, value in state.params.items()}
    run.net.check_params(params)
    run.params = params
    run.optimizer.load_state_dict(
        {k: from_wire(v) if isinstance(v, list) else float(v) for k, v in state.optimizer.items()}
    )
    run.data_rng.bit_generator.state = _unstringify_ints(state.rng)
    run.cursor = state.cursor
    run.carried = None if state.h_carry is None else from_wire(state.h_carry).astype(run.net.dtype)
    run.smooth_loss = None if state.smooth_loss is None else float(state.smooth_loss)
    run.loss_history = [float(x) for x in from_wire(state.loss_history)]
    run.samples_drawn = state.samples_drawn
    run.iteration = state.iteration
    run.batch = _batch(state.batch, run.task)
    run.batch_start = _data_start(state.drawn_from)
    stepper = Stepper(run)
    # Replay the steps already taken: the same arithmetic gives the same values.
    for _ in range(state.forward_steps):
        stepper.step_forward()
    for _ in range(state.backward_steps):
        stepper.step_backward()
    return stepper


def _data_start(saved: DataPosition | None) -> DataStart | None:
    return None if saved is None else DataStart(saved.cursor, _unstringify_ints(saved.rng))


def _batch(saved: BatchState, task: Task) -> Batch:
    """The exported batch, with the dtypes the task's own batches have."""
    real_inputs = task.info.input_kind == "real"
    real_targets = task.info.head == "linear"
    return Batch(
        inputs=np.asarray(saved.inputs, dtype=None if real_inputs else np.int64),
        targets=np.asarray(saved.targets, dtype=None if real_targets else np.int64),
        loss_mask=None if saved.loss_mask is None else from_wire(saved.loss_mask),
        stateful=saved.stateful,
        next_cursor=saved.next_cursor,
        decoder_inputs=_array(saved.decoder_inputs, np.int64),
        source_lengths=_array(saved.source_lengths, np.int64),
    )


def _listed(array: Array | None) -> list[Any] | None:
    return None if array is None else array.tolist()


def _array(values: list[Any] | None, dtype: Any) -> Array | None:
    return None if values is None else np.asarray(values, dtype=dtype)


def _stringify_ints(value: Any) -> Any:
    """Big integers (PCG64's 128-bit state) as strings, so JSON readers cannot round them."""
    if isinstance(value, dict):
        return {k: _stringify_ints(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _unstringify_ints(value: Any) -> Any:
    """The inverse of _stringify_ints."""
    if isinstance(value, dict):
        return {k: _unstringify_ints(v) for k, v in value.items()}
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value
