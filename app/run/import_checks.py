"""An imported session checked against the run its config builds, before any of it is used.

The protocol has already checked the types (SessionState: strict numbers, bounded counters, the
generator's words in range). Here every array meets the shape and dtype the run itself has:
parameters and optimizer slots against freshly built ones, the batch against a batch the task
draws for this config, token ids against the vocabularies. A refusal names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import numpy as np

from app.engine.types import Array, Params
from app.protocol import BatchState, from_wire
from app.protocol.commands import GeneratorState
from app.run.refusal import CommandRefused
from app.run.state import RunState
from app.run.stepper import Stepper
from app.tasks import Batch, Task

RANGE = "out_of_range"


def refuse(field: str, message: str, code: str = "invalid_message") -> NoReturn:
    """Refuse the import, naming the field."""
    raise CommandRefused(code, f"{field} {message}", field)


def float_array(field: str, values: Any, shape: tuple[int, ...]) -> Array:
    """The wire values as float64, refused unless rectangular and of this shape."""
    if not isinstance(values, list):
        refuse(field, "must be an array")
    try:
        array = from_wire(values)
    except ValueError:
        refuse(field, "is not a rectangular array")
    if array.shape != shape:
        refuse(field, f"has shape {array.shape}; this run's has {shape}")
    return array


def params(saved: Mapping[str, Any], fresh: Params) -> Params:
    """The saved parameters, with exactly the names, shapes and dtype of the run's own."""
    for name in saved:
        if name not in fresh:
            refuse(f"state.params.{name}", f"is not part of this run (it has {', '.join(fresh)})")
    for name in fresh:
        if name not in saved:
            refuse(f"state.params.{name}", "is missing")
    return {
        name: float_array(f"state.params.{name}", saved[name], value.shape).astype(value.dtype)
        for name, value in fresh.items()
    }


def optimizer_state(saved: Mapping[str, Any], run: RunState, iteration: int) -> dict[str, Any]:
    """lr, step count, hyperparameters and slot arrays, each checked against the run's optimizer."""
    optimizer = run.optimizer
    fresh = optimizer.state_dict()  # lr, t and the hyperparameters: no slot before an update
    slots = {
        f"{slot}/{name}": value.shape
        for slot in optimizer.slots
        for name, value in run.params.items()
    }
    kept = ", ".join([*fresh, *(f"{slot}/PARAMETER" for slot in optimizer.slots)])
    for key in saved:
        if key not in fresh and key not in slots:
            refuse(f"state.optimizer.{key}", f"is not part of {optimizer.name}'s state ({kept})")
    state = _numbers(saved, fresh, run.config.learning_rate, iteration)
    for key, shape in slots.items():
        if key in saved:
            state[key] = float_array(f"state.optimizer.{key}", saved[key], shape)
    return state


def _numbers(
    saved: Mapping[str, Any], fresh: Mapping[str, Any], lr: float, iteration: int
) -> dict[str, Any]:
    """lr (the config's), the step count (a whole number up to the iteration) and the
    hyperparameters (the server's own)."""
    for key in fresh:
        if key not in saved:
            refuse(f"state.optimizer.{key}", "is missing")
    state: dict[str, Any] = {key: _scalar(f"state.optimizer.{key}", saved[key]) for key in fresh}
    if state["lr"] != lr:
        refuse("state.optimizer.lr", "must equal state.config.learning_rate", RANGE)
    if not (state["t"].is_integer() and 0 <= state["t"] <= iteration):
        refuse("state.optimizer.t", f"must be a whole number of updates, 0 to {iteration}", RANGE)
    state["t"] = int(state["t"])
    for key in fresh.keys() - {"lr", "t"}:
        if state[key] != fresh[key]:
            refuse(f"state.optimizer.{key}", f"must be {fresh[key]!r}", RANGE)
    return state


def _scalar(field: str, value: Any) -> float:
    if isinstance(value, list):
        refuse(field, "must be a number, not an array")
    number = float(value)
    if not np.isfinite(number):
        refuse(field, "must be finite", RANGE)
    return number


def generator_state(saved: GeneratorState) -> dict[str, Any]:
    """numpy's state dict for the data generator (the protocol checked every word's range)."""
    words = saved.state
    return {
        "bit_generator": saved.bit_generator,
        "state": {"state": int(words.state), "inc": int(words.inc)},
        "has_uint32": int(saved.has_uint32),
        "uinteger": int(saved.uinteger),
    }


def carried(saved: Any, run: RunState) -> Array | None:
    """The state carried into the next batch: (B, H), (B, 2H) for an LSTM's [h, c], or none.

    An encoder-decoder starts every source from zero, so it carries nothing.
    """
    if saved is None:
        return None
    config = run.config
    if run.task.info.architecture == "encoder_decoder":
        refuse("state.h_carry", "must be null: an encoder-decoder carries no state")
    width = (2 if config.cell == "lstm" else 1) * config.hidden_size
    return float_array("state.h_carry", saved, (config.batch_size, width)).astype(run.net.dtype)


def loss_history(saved: list[Any], iteration: int) -> list[float]:
    """One loss per iteration at most."""
    if len(saved) > iteration:
        refuse("state.loss_history", f"has {len(saved)} losses for {iteration} iterations")
    return [float(x) for x in from_wire(saved)]


def batch(saved: BatchState, reference: Batch, task: Task) -> Batch:
    """The saved batch, with the shapes, dtypes and token ranges of the batches this run draws.

    Whether it carries the state and where the corpus goes on (`stateful`, `next_cursor`) vary
    from batch to batch of a streamed corpus, and any value of them is safe to run.
    """
    inputs = _like(
        "inputs", saved.inputs, reference.inputs, _ids(reference.inputs, task.input_vocab)
    )
    targets = _like(
        "targets", saved.targets, reference.targets, _ids(reference.targets, task.output_vocab)
    )
    assert inputs is not None and targets is not None  # every batch has both
    decoder = reference.decoder_inputs
    return Batch(
        inputs=inputs,
        targets=targets,
        loss_mask=_like("loss_mask", saved.loss_mask, reference.loss_mask, (0, 1)),
        stateful=saved.stateful,
        next_cursor=saved.next_cursor,
        decoder_inputs=_like(
            "decoder_inputs", saved.decoder_inputs, decoder, _ids(decoder, task.output_vocab)
        ),
        source_lengths=_like(
            "source_lengths",
            saved.source_lengths,
            reference.source_lengths,
            (1, int(reference.inputs.shape[0])),
        ),
    )


Bounds = tuple[float, float] | None


def _ids(reference: Array | None, vocab: tuple[str, ...]) -> Bounds:
    """Token ids lie in the vocabulary; real values (a float array) have no bounds."""
    if reference is None or not np.issubdtype(reference.dtype, np.integer):
        return None
    return (0, len(vocab) - 1)


def _like(name: str, values: Any, reference: Array | None, bounds: Bounds) -> Array | None:
    """`values` as an array of the reference's shape and dtype, finite and within bounds."""
    field = f"state.batch.{name}"
    if reference is None:
        if values is not None:
            refuse(field, "must be null for this task")
        return None
    if values is None:
        refuse(field, "is required for this task")
    array = float_array(field, values, reference.shape)
    if not np.isfinite(array).all():
        refuse(field, "must be finite", RANGE)
    if bounds is not None and array.size:
        low, high = bounds
        if array.min() < low or array.max() > high:
            refuse(field, f"must lie in {low:g}..{high:g}", RANGE)
    return array.astype(reference.dtype)


def replay(stepper: Stepper, forward_steps: int, backward_steps: int) -> None:
    """Take the steps already taken in the iteration: the same arithmetic gives the same values."""
    for field, steps, step in (
        ("state.forward_steps", forward_steps, stepper.step_forward),
        ("state.backward_steps", backward_steps, stepper.step_backward),
    ):
        for _ in range(steps):
            try:
                step()
            except CommandRefused as refusal:
                refuse(
                    field, f"is more than this iteration allows: {refusal.message}", "out_of_range"
                )
