"""The script's data: what the run trains on, and next_batch(cursor), drawn as the server draws it.

Three honest ways, by task:
- a text stream (characters or words): the training text itself, walked like min-char-rnn;
- an uploaded CSV series: its training rows, normalised as on the page, windows drawn from the
  run's own data generator (NumPy's PCG64, seeded as the server seeds it);
- any other task draws its sequences with code the script does not carry, so the exact batches
  of the exported iterations are embedded.
Each defines next_batch(cursor) -> (inputs, targets, mask, stateful, next cursor).
"""

from __future__ import annotations

import numpy as np

from app.export.template import (
    exact_floats,
    int_array,
    number_list,
    render,
    wrapped_list,
    wrapped_string,
)
from app.inputs import InputError
from app.protocol import RunConfig
from app.run.state import DataStart
from app.tasks.base import Batch, Task
from app.tasks.text import CharTextTask
from app.tasks.uploaded.series import SeriesTask

MAX_EMBEDDED_VALUES = 2_000_000  # recorded batches beyond this make the script too large


STREAM = '''
vocab = $vocab  # token id -> token
index = {token: i for i, token in enumerate(vocab)}
data = np.array([index[token] for token in $tokens])  # (N,) token ids


def next_batch(cursor):
    """min-char-rnn's walk: B parallel streams through the text, T tokens at a time."""
    length = len(data) // B  # tokens per stream
    restart = cursor <= 0 or cursor + T + 1 > length  # at a stream's end, start over from h = 0
    position = 0 if restart else cursor
    starts = np.arange(B) * length + position
    steps = starts[None, :] + np.arange(T)[:, None]  # (T, B) positions in the text
    return data[steps], data[steps + 1], np.ones((T, B)), not restart, position + T
'''

SERIES = '''
# Normalised as on the page: (value - mean) / std, with the training rows' mean and std.
X = np.stack(
    $inputs,
    axis=1,
)  # (N, D) what the network reads
y = $target  # (N,) the forecast column
$rng


def next_batch(cursor):
    """Windows of T rows from a random start s: read rows s .. s+T-1, predict y at s+1 .. s+T."""
    starts = data_rng.integers(0, len(y) - T, size=B)
    steps = starts[None, :] + np.arange(T)[:, None]  # (T, B) rows
    return X[steps], y[steps + 1][..., None], np.ones((T, B)), False, None
'''

RECORDED = '''

def next_batch(cursor):
    """The cursor counts the batches read so far."""
    inputs, targets, mask, stateful = BATCHES[cursor]
    return inputs, targets, mask, stateful, cursor + 1
'''


def _stream(task: CharTextTask) -> tuple[str, str]:
    """The training text, and how the script cuts it into tokens."""
    separator = getattr(task, "separator", "")
    text = task.decode(task.train_ids)
    tokens = "TEXT" if separator == "" else f"TEXT.split({separator!r})"
    unit = "characters" if separator == "" else "words, rare ones written <unk>"
    head = f"# The training part of the text ({unit}); the held-out tail is left out.\n"
    code = head + f"TEXT = {wrapped_string(text)}\n"
    return code, render(
        STREAM, (), {"vocab": wrapped_list(list(task.input_vocab)), "tokens": tokens}
    )


def _series(task: SeriesTask, seed: int, start: DataStart, seeded: bool) -> str:
    """The training rows of the used columns, their normalisation and the window draws."""
    lines = ["# The training rows of your CSV file (the held-out tail is left out), by column."]
    lines.append("columns = {}")
    for name, raw in task.raw.items():
        lines.append(f"columns[{name!r}] = {number_list(raw[: task.split])}")

    def normalised(name: str) -> str:
        scale = task.scaling[name]
        return f"(columns[{name!r}] - {scale.mean!r}) / {scale.std!r}"

    inputs = "\n".join(["[", *(f"        {normalised(n)}," for n in task.inputs), "    ]"])
    if seeded:
        rng = f"data_rng = np.random.default_rng([{seed}, 2])  # the run's data generator"
    else:
        state = dict(start.rng_state)
        rng = f"data_rng = np.random.default_rng()\ndata_rng.bit_generator.state = {state!r}"
    values = {"inputs": inputs, "target": normalised(task.target), "rng": rng}
    return "\n".join(lines) + "\n" + render(SERIES, (), values)


def recorded_batches(
    task: Task, start: DataStart, batch_size: int, seq_len: int, iterations: int
) -> list[Batch]:
    """The batches the run draws next, from a copy of its data generator."""
    rng = np.random.default_rng()
    rng.bit_generator.state = dict(start.rng_state)
    cursor, batches, values = start.cursor, [], 0
    for _ in range(iterations):
        batch = task.train_batch(rng, batch_size, seq_len, cursor=cursor)
        values += batch.inputs.size + batch.targets.size
        if values > MAX_EMBEDDED_VALUES:
            message = "too many values to embed in a script; export fewer iterations"
            raise InputError("iterations", message)
        batches.append(batch)
        cursor = batch.next_cursor
    return batches


def _array(values: np.ndarray) -> str:
    """Integers and 0/1 masks as list literals, other floats exactly as base64."""
    if values.dtype.kind in "iu":
        return int_array(values)
    if np.isin(values, (0.0, 1.0)).all():
        return f"{int_array(values.astype(np.int64))}.astype(float)"
    return exact_floats(values, 12)


def _recorded(batches: list[Batch]) -> str:
    """Every batch's arrays, exactly; padding targets written as 0 (they carry no loss)."""
    lines = ["# The exact batches the run trains on (the task draws them with code not in here)."]
    lines.append("BATCHES = [")
    for batch in batches:
        T, B = batch.targets.shape[:2]
        mask = np.ones((T, B)) if batch.loss_mask is None else np.asarray(batch.loss_mask, float)
        where = mask != 0 if batch.targets.ndim == 2 else (mask != 0)[..., None]
        targets = np.where(where, batch.targets, 0)
        lines.append("    (")
        for array in (np.asarray(batch.inputs), targets, mask):
            lines.append(f"        {_array(array)},")
        lines.append(f"        {bool(batch.stateful)},")
        lines.append("    ),")
    lines.append("]")
    return "\n".join(lines) + RECORDED


def data_code(
    task: Task, config: RunConfig, start: DataStart, iterations: int, seeded: bool
) -> tuple[str, str, int | None]:
    """(what the script says about its data, the data section, the first cursor)."""
    B, T = config.batch_size, config.seq_len
    if isinstance(task, CharTextTask):
        text, code = _stream(task)
        note = "the training text, walked like min-char-rnn"
        return note, text + code, start.cursor
    if isinstance(task, SeriesTask):
        note = "the training rows of the CSV file, normalised as on the page"
        return note, _series(task, config.seed, start, seeded), start.cursor
    batches = recorded_batches(task, start, B, T, iterations)
    note = f"the {iterations} batches the run draws, embedded exactly"
    return note, _recorded(batches), 0
