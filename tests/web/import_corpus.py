"""Crafted bad exports: each a valid export with one thing wrong, and the refusal it must get.

Four valid exports are the bases (a token RNN with Adam's slots, a stateful LSTM on a streamed
corpus, an encoder-decoder, a real-valued series); every case changes one of them in one place.
Together they cover every kind of failure an import can have: types (booleans, strings, floats
where integers belong), sizes beyond the server's limits, arrays of the wrong shape (optimizer
slots included), token ids outside the vocabulary, counters past 2^53 or past what the iteration
allows, the generator's state out of range or nested without bound, and JSON nested too deep.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from app import protocol as p
from app.session import Session
from app.tasks import PRESETS
from app.web.sessions import limits_from
from app.web.settings import Settings

State = dict[str, Any]
DEEP = "__deep__"  # replaced by lists nested this deep in the JSON text: json.dumps would recurse
BIG = 2**64 - 1

# name: (config, iterations trained, teaching steps taken after)
BASES: dict[str, tuple[dict[str, Any], int, int]] = {
    "adam": ({"optimizer": "adam", "hidden_size": 4}, 2, 5),
    "text": ({**PRESETS["text"].config, "cell": "lstm", "hidden_size": 8, "batch_size": 2}, 2, 3),
    "numbers": ({**PRESETS["numbers"].config, "batch_size": 2}, 1, 2),
    "sine": ({**PRESETS["sine"].config, "batch_size": 2}, 1, 1),
}


@cache
def base_state(name: str) -> State:
    """A valid export (through JSON, as a browser keeps it)."""
    config, iterations, steps = BASES[name]
    session = Session(p.RunConfig(**config), limits_from(Settings()))
    session.train(iterations)
    for _ in range(steps):
        session.advance()
    state: State = orjson.loads(p.encode(session.export()))["state"]
    return state


@dataclass(frozen=True)
class Case:
    """One bad export: which base, what changes, and the error code and field it must get."""

    base: str
    where: str | Callable[[State], Any]  # a dotted path set to `value`, or a change of its own
    value: Any
    code: str
    field: str | None

    @property
    def name(self) -> str:
        """How the test names it."""
        where = self.where if isinstance(self.where, str) else self.where.__name__.strip("_")
        return f"{self.base}:{where}={self.value!r}"[:70]


def message(case: Case) -> str:
    """The import command carrying the case's export, as JSON text."""
    state: Any = copy.deepcopy(base_state(case.base))
    if isinstance(case.where, str):
        *path, last = [int(k) if k.isdigit() else k for k in case.where.split(".")]
        node = state
        for key in path:
            node = node[key]
        if case.value is DROP:
            del node[last]
        else:
            node[last] = case.value
    else:
        state = case.where(state) or state
    text = json.dumps({"type": "import", "id": 7, "state": state})
    return text.replace(f'"{DEEP}"', "[" * 3000 + "]" * 3000)


DROP = object()  # the value that removes the key instead


def nested(depth: int, leaf: Any) -> Any:
    """A value wrapped in `depth` objects."""
    for _ in range(depth):
        leaf = {"state": leaf}
    return leaf


def _tall(state: State) -> None:
    state["batch"]["inputs"] = [[0]] * 400  # T = 400 with max_seq_len 200


def _ragged(state: State) -> None:
    state["params"]["W_hh"][1] = state["params"]["W_hh"][1][:-1]


def _many_entries(state: State) -> None:
    state["optimizer"].update({f"x/W{i}": 0.0 for i in range(300)})


def _fat_text(state: State) -> None:
    state["config"]["task"] = "pasted"
    state["text"] = "".join(chr(0x100 + i) for i in range(300)) * 2  # 300 distinct characters


def _long_history(state: State) -> None:
    state["loss_history"] = state["loss_history"] * 2


def _listed(state: State) -> list[State]:
    return [state]


RANGE, BAD, JSON = "out_of_range", "invalid_message", "invalid_json"
ROWS: list[tuple[Any, ...]] = [
    # base, where, value, code[, field (default: state.<where>)]
    # The run's sizes against the limits (hidden 256, seq 200, batch 64, vocab 256, embedding 256)
    ("adam", "config.hidden_size", 10**6, RANGE),
    ("adam", "config.seq_len", 400, RANGE),
    ("adam", "config.batch_size", 1000, RANGE),
    ("adam", "config.embedding_size", 10**12, RANGE),
    ("adam", _fat_text, None, RANGE, "state.text"),
    ("adam", "text", "ab", RANGE),
    ("adam", "text", "a" * 50_001, RANGE),
    ("adam", "config.task", "nope", RANGE),
    ("adam", "config.seed", 2**40, RANGE),
    ("adam", "config.hidden_size", "4", BAD),
    ("adam", "config.learning_rate", "0.1", BAD),
    ("adam", "config.depth", 3, BAD),
    ("adam", _tall, None, BAD, "state.batch.inputs"),
    # Parameters: the names, shapes and dtypes of the run's own
    ("adam", "params.W_hh.0.0", True, BAD),
    ("adam", "params.W_hh.0.0", "0.5", BAD),
    ("adam", "params.b_h.0", None, BAD),
    ("adam", "params.W_hh.0.0", [0.5], BAD),
    ("adam", "params.W_hh.0.0", 10**400, JSON, None),
    ("adam", "params.W_hh", [[0.0]], BAD),
    ("adam", _ragged, None, BAD, "state.params.W_hh"),
    ("adam", "params.W_hh", [0.0, 1.0], BAD),
    ("adam", "params.W_hh", DROP, BAD),
    ("adam", "params.W_zz", [[0.0]], BAD),
    ("adam", "params.W hh", [0.0], BAD),
    ("text", "config.cell", "gru", BAD, "state.params.W_xi"),
    ("numbers", "config.hidden_size", 7, BAD, "state.params.enc.W_xz"),
    # The optimizer: its step count, hyperparameters and slots
    ("adam", "optimizer.t", 1e308, RANGE),
    ("adam", "optimizer.t", BIG, RANGE),
    ("adam", "optimizer.t", 1.5, RANGE),
    ("adam", "optimizer.t", -1, RANGE),
    ("adam", "optimizer.t", 3, RANGE),
    ("adam", "optimizer.t", "2", BAD),
    ("adam", "optimizer.lr", "NaN", RANGE),
    ("adam", "optimizer.lr", 5.0, RANGE),
    ("adam", "optimizer.lr", [0.1], BAD),
    ("adam", "optimizer.beta1", 1.0, RANGE),
    ("adam", "optimizer.eps", DROP, BAD),
    ("adam", "optimizer.m/W_hh", [[0.0]], BAD),
    ("adam", "optimizer.v/W_xh", 0.0, BAD),
    ("adam", "optimizer.m/b_h.0", False, BAD),
    ("adam", "optimizer.m/W_zz", [[0.0]], BAD),
    ("adam", "optimizer.mem/W_hh", [[0.0]], BAD),
    ("text", "optimizer.mem/W_hf", [[0.0]], BAD),
    ("adam", _many_entries, None, RANGE, "state.optimizer"),
    # The data generator: PCG64's words as decimal strings, in range, nested as numpy nests them
    ("adam", "rng.state.state", str(2**128), RANGE),
    ("adam", "rng.state.inc", "-5", BAD),
    ("adam", "rng.state.state", 12345, BAD),
    ("adam", "rng.uinteger", str(2**32), RANGE),
    ("adam", "rng.has_uint32", "2", BAD),
    ("adam", "rng.bit_generator", "MT19937", BAD),
    ("adam", "rng.state", nested(900, "1"), BAD, "state.rng.state.state"),
    ("adam", "rng.state.state", DEEP, JSON, None),
    ("adam", "rng.seed", "1", BAD),
    ("adam", "rng", DROP, BAD),
    # Counters: integers up to 2^53 - 1, within what the iteration allows
    ("adam", "iteration", "2", BAD),
    ("adam", "iteration", 2.0, BAD),
    ("adam", "iteration", True, BAD),
    ("adam", "iteration", -1, RANGE),
    ("adam", "iteration", 2**53, RANGE),
    ("adam", "samples_drawn", BIG, RANGE),
    ("text", "cursor", 2**60, RANGE),
    ("text", "batch.next_cursor", "5", BAD),
    ("adam", "forward_steps", 99, RANGE),
    ("text", "backward_steps", 1, RANGE),
    ("adam", "forward_steps", True, BAD),
    ("adam", "backward_steps", -1, RANGE),
    ("adam", "protocol_version", 2, RANGE),
    ("adam", "format", "pickle", BAD),
    ("adam", _long_history, None, BAD, "state.loss_history"),
    ("adam", "loss_history.0", "low", BAD),
    ("adam", "smooth_loss", "1.0", BAD),
    ("adam", "weights", [], BAD),
    ("adam", _listed, None, BAD, "state"),
    # The iteration's data against the batches the task draws
    ("adam", "batch.inputs.0.0", 1.0, BAD),
    ("adam", "batch.inputs.0.0", -1, RANGE),
    ("adam", "batch.inputs.0.0", 4, RANGE, "state.batch.inputs"),
    ("text", "batch.targets.0.0", 10**6, RANGE, "state.batch.targets"),
    ("text", "batch.inputs.0", [1], BAD, "state.batch.inputs"),
    ("adam", "batch.loss_mask", [[1.0]] * 4, BAD),
    ("numbers", "batch.loss_mask.0.0", 2.0, RANGE, "state.batch.loss_mask"),
    ("numbers", "batch.decoder_inputs", None, BAD),
    ("numbers", "batch.source_lengths.0", 0, RANGE, "state.batch.source_lengths"),
    ("numbers", "batch.source_lengths.0", 99, RANGE, "state.batch.source_lengths"),
    ("text", "batch.stateful", "yes", BAD),
    ("sine", "batch.inputs.0.0.0", "NaN", RANGE, "state.batch.inputs"),
    ("sine", "batch.inputs", [[0, 0]] * 20, BAD),
    ("text", "h_carry", [[0.0] * 8] * 2, BAD),
    ("text", "h_carry", [[0.0] * 16], BAD),
    ("numbers", "h_carry", [[0.0] * 48] * 2, BAD),
]
CASES = [
    Case(base, where, value, code, *(field or [f"state.{where}"]))
    for base, where, value, code, *field in ROWS
]
