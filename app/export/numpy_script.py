"""Export a run as one standalone Python file that needs only NumPy, in the style of min-char-rnn.

numpy_script(task, config, net, iterations) writes the run from its seed: the script draws the
weights as the server does and trains from iteration 1. Given a RunPoint, it starts from the
run's current weights, optimizer state, data position and carried state instead. Either way
it prints each iteration's loss, the server's numbers to 1e-12 relative in float64. The script
holds only the code paths its run uses: its cell, input, head, optimizer, clipping and BPTT.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine import ModelSpec, Net, check_params
from app.export.cell_code import cell_code
from app.export.data_code import data_code
from app.export.model_code import (
    embedded_params_code,
    loss_code,
    params_dict_code,
    seeded_params_code,
)
from app.export.template import UNPACK, tidy
from app.export.train_code import carried_state_code, loop_code, optimizer_state_code
from app.inputs import InputError
from app.protocol import RunConfig
from app.run.state import DataStart, generators, init_spec
from app.tasks.base import Task

RULE = "# " + "-" * 98


@dataclass(frozen=True)
class RunPoint:
    """A run between two iterations: everything the next one starts from."""

    iteration: int  # iterations done so far
    params: Mapping[str, np.ndarray]
    optimizer: Mapping[str, Any]  # Optimizer.state_dict(): lr, hyperparameters, slots, t
    cursor: int | None  # the stream position the next batch is drawn at
    rng_state: Mapping[str, Any]  # the data generator's bit_generator.state before that draw
    state: np.ndarray | None = None  # h (or the LSTM's [h, c]) carried out of the last batch


def _section(title: str, body: str) -> str:
    return f"\n\n{RULE}\n# {title}\n{tidy(body)}"


def _describe(spec: ModelSpec, config: RunConfig) -> str:
    """The network and its training in words, for the script's docstring."""
    cell = {
        "rnn": f"A vanilla RNN ({spec.activation})",
        "lstm": "An LSTM",
        "gru": "A GRU (Cho et al. 2014)",
        "gru_torch": "A GRU (torch.nn.GRU's form)",
    }
    reads = {"onehot": "one-hot tokens", "embedding": "embedded tokens", "real": "real vectors"}
    head = "softmax with cross-entropy" if spec.head == "softmax" else "linear with squared error"
    truncation = config.truncation
    bptt = "full BPTT" if truncation is None else f"BPTT truncated to {truncation} steps"
    clip = config.clip_mode
    clipping = "no clipping" if clip == "none" else f"clipping by {clip} at {config.clip_threshold}"
    return (
        f"{cell[spec.cell]} of hidden size {spec.hidden_size} "
        f"reading {reads[spec.input_kind]}, with a {head} head; {config.optimizer}, "
        f"{clipping}, {bptt}."
    )


def _hyperparameters(spec: ModelSpec, config: RunConfig, point: RunPoint | None) -> str:
    lr = point.optimizer["lr"] if point is not None else config.learning_rate
    lines = [
        f"seed = {config.seed}",
        f"H = {spec.hidden_size}  # hidden size",
        f"D = {spec.input_dim}  # input size, the width of x_t",
        f"O = {spec.output_size}  # outputs per step",
        f"T = {config.seq_len}  # time steps per iteration",
        f"B = {config.batch_size}  # sequences per batch",
        f"learning_rate = {float(lr)!r}",
    ]
    if spec.tokens:
        lines.insert(2, f"V = {spec.input_size}  # vocabulary size")
    if config.truncation is not None:
        lines.append(f"K = {config.truncation}  # truncated BPTT: steps a loss flows back")
    if config.clip_mode != "none":
        lines.append(f"clip_threshold = {config.clip_threshold!r}")
    if point is None:
        lines.append(f"init_scale = {config.init_scale!r}")
        if config.spectral_radius is not None:
            lines.append(f"spectral_radius = {config.spectral_radius!r}")
    return "\n".join(lines)


def _start(config: RunConfig, point: RunPoint | None) -> DataStart:
    if point is not None:
        return DataStart(point.cursor, point.rng_state)
    _, data_rng = generators(config.seed)
    return DataStart(0, data_rng.bit_generator.state)


def _spec(net: Net) -> ModelSpec:
    """The run's single-network spec; the encoder-decoder is refused."""
    spec = net.single_spec
    if spec is None:
        message = "exporting an encoder-decoder run as a script is not supported yet"
        raise InputError("task", message)
    return spec


def _weights(spec: ModelSpec, config: RunConfig, point: RunPoint | None) -> tuple[str, str]:
    """(the parameters section, what it says about them): drawn from the seed, or the run's."""
    if point is None:
        note = f"drawn from seed {config.seed} with Unroll's initialisation"
        code = seeded_params_code(spec, init_spec(config))
    else:
        check_params(dict(point.params), spec)
        note = f"the run's weights and optimizer state after iteration {point.iteration}, exactly"
        code = embedded_params_code(point.params, spec)
    return code + "\n" + params_dict_code(spec), note


def _training(
    spec: ModelSpec,
    config: RunConfig,
    point: RunPoint | None,
    cursor: int | None,
    last: int,
) -> str:
    """The optimizer with its state, the carried state and the loop."""
    lstm = spec.cell == "lstm"
    first = 0 if point is None else point.iteration
    parts = [
        optimizer_state_code(config.optimizer, None if point is None else point.optimizer),
        carried_state_code(None if point is None else point.state, spec.hidden_size, lstm),
        loop_code(lstm, config.clip_mode, cursor, first, last),
    ]
    return "\n\n".join(parts)


def _header(title: str, description: str, first: int, last: int, notes: tuple[str, str]) -> str:
    """The script's docstring."""
    return (
        f"An Unroll run as one standalone NumPy script: {title}.\n\n"
        f"{textwrap.fill(description, 96)}\n\n"
        f"Run it with python and NumPy: it trains iterations {first + 1} to {last} and prints\n"
        "each one's loss, the numbers Unroll's server computes for this run (to 1e-12\n"
        f"relative, in float64).\n\nData: {notes[0]}.\nWeights: {notes[1]}.\n"
    )


def numpy_script(
    task: Task, config: RunConfig, net: Net, iterations: int, point: RunPoint | None = None
) -> str:
    """One standalone NumPy script that trains the run and prints the server's losses.

    net: the run's network (its spec may differ from what the config alone builds: a loaded
    torch GRU's). iterations: how many to train (after `point`, if given; from the seed without).
    Raises InputError for a run the script cannot carry (the encoder-decoder).
    """
    if iterations < 1:
        raise InputError("iterations", f"must be at least 1; got {iterations}")
    model = _spec(net)
    first = 0 if point is None else point.iteration
    last = first + iterations
    note, data, cursor = data_code(task, config, _start(config, point), iterations, point is None)
    weights, weights_note = _weights(model, config, point)
    code = cell_code(model.cell, model.activation) + loss_code(model, config.truncation)
    body = (
        _section("hyperparameters", _hyperparameters(model, config, point))
        + _section("data: " + note, data)
        + _section("parameters: " + weights_note, weights)
        + _section("the model", code)
        + _section("training", _training(model, config, point, cursor, last))
    )
    packed = "unpack(" in body  # exact arrays need the decoder
    header = _header(task.info.title, _describe(model, config), first, last, (note, weights_note))
    return (
        f'"""{header}"""\n\n'
        + ("import base64\n\n" if packed else "")
        + "import numpy as np\n"
        + ("\n\n" + tidy(UNPACK) if packed else "")
        + body
    )
