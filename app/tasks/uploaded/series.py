"""A column of an uploaded CSV as a forecasting task, like the sine preset: read, predict the next.

The user picks the target column and, optionally, input columns (by name or 0-based index;
by default the target's own past). The last rows are held out; every column is normalised by
the mean and standard deviation of the training rows alone (a constant column only centred),
so the held-out tail leaks nothing, and the page shows both numbers. Windows of seq_len steps
read rows s .. s+T-1 and predict the target at rows s+1 .. s+T, with a linear head and squared
error; training windows start at random, held-out windows tile the tail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.inputs import InputError
from app.tasks.base import Batch, TaskInfo
from app.tasks.metrics import score_real
from app.tasks.uploaded.table import Table

HELDOUT_FRACTION = 0.2
MIN_ROWS = 10  # two held-out rows and eight to train on: windows of one step, at least

Column = str | int


@dataclass(frozen=True)
class Scaling:
    """How a column was normalised: value = raw - mean, divided by std."""

    mean: float
    std: float  # 1.0 for a constant column, which is only centred


def _index(table: Table, column: Column, field: str) -> int:
    """The 0-based index of a column named or numbered by the caller."""
    if isinstance(column, str) and column in table.columns:
        return table.columns.index(column)
    if (
        isinstance(column, int)
        and not isinstance(column, bool)
        and 0 <= column < len(table.columns)
    ):
        return column
    known = ", ".join(repr(name) for name in table.columns)
    raise InputError(field, f"{column!r} is not a column; the columns are {known}")


def _scaling(values: np.ndarray) -> Scaling:
    """Mean and standard deviation of a 1-D column of training rows."""
    std = float(values.std())
    return Scaling(float(values.mean()), std if std > 0 else 1.0)


def training_rows(rows: int) -> int:
    """How many of a table's rows are trained on: all but the held-out tail."""
    return rows - max(2, round(rows * HELDOUT_FRACTION))


def column_scalings(table: Table) -> dict[str, Scaling]:
    """Every column's normalisation, as a task reading it would use (shown before one is built)."""
    split = training_rows(table.rows)
    return {name: _scaling(table.values[:split, k]) for k, name in enumerate(table.columns)}


def longest_window(rows: int) -> int:
    """The longest seq_len both splits of a table of `rows` rows can fill."""
    split = training_rows(rows)
    return min(split, rows - split) - 1


class SeriesTask:
    """Forecast one column of a table one row ahead from chosen columns up to now."""

    input_vocab: tuple[str, ...] = ()
    output_vocab: tuple[str, ...] = ()

    def __init__(self, table: Table, target: int, inputs: Sequence[int], name: str) -> None:
        self.target = table.columns[target]
        self.inputs = tuple(table.columns[k] for k in inputs)
        self.split = training_rows(table.rows)
        used = dict.fromkeys([*inputs, target])  # each column once, in order
        self.raw = {table.columns[k]: table.values[:, k].copy() for k in used}  # (N,) each
        self.scaling = {col: _scaling(raw[: self.split]) for col, raw in self.raw.items()}
        self.X = np.stack([self.normalised(col) for col in self.inputs], axis=1)  # (N, D)
        self.y = self.normalised(self.target)  # (N,)
        self.info = TaskInfo(
            name=name,
            title=f"Your series: forecast {self.target}",
            summary=(
                f"Read {', '.join(self.inputs)} one row at a time and predict the next "
                f"{self.target}; the last {table.rows - self.split} of {table.rows} rows are "
                "held out."
            ),
            architecture="many_to_many",
            input_kind="real",
            head="linear",
            defaults={"seq_len": min(40, self.max_seq_len), "hidden_size": 16},
            input_size=len(self.inputs),
            output_size=1,
        )

    def normalised(self, column: str) -> np.ndarray:
        """(N,) a column in the units the network sees: (raw - mean) / std."""
        scale = self.scaling[column]
        return (self.raw[column] - scale.mean) / scale.std

    def denormalised(self, values: np.ndarray) -> np.ndarray:
        """Target values back in the file's units."""
        scale = self.scaling[self.target]
        return values * scale.std + scale.mean

    @property
    def max_seq_len(self) -> int:
        """The longest window both splits can fill."""
        return longest_window(len(self.y))

    def _windows(self, starts: np.ndarray, seq_len: int) -> Batch:
        steps = starts[None, :] + np.arange(seq_len)[:, None]  # (T, B) rows
        return Batch(inputs=self.X[steps], targets=self.y[steps + 1][..., None])

    def _check(self, seq_len: int) -> None:
        if seq_len > self.max_seq_len:
            raise ValueError(
                f"seq_len {seq_len} is longer than the uploaded series allows "
                f"({self.max_seq_len} steps with {len(self.y)} rows)"
            )

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """Windows starting at random rows of the training part."""
        self._check(seq_len)
        return self._windows(rng.integers(0, self.split - seq_len, size=batch_size), seq_len)

    def heldout_batch(self, seq_len: int) -> Batch:
        """The held-out tail cut into consecutive windows."""
        self._check(seq_len)
        count = (len(self.y) - self.split - 1) // seq_len
        return self._windows(self.split + np.arange(count) * seq_len, seq_len)

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """MSE (normalised units) beside predicting the mean, and "same as now" if it is read."""
        metrics = score_real(batch, ys)
        metrics["zero_mse"] = float((batch.targets**2).mean())
        if self.target in self.inputs:
            now = batch.inputs[..., self.inputs.index(self.target)]
            metrics["persistence_mse"] = float(((now - batch.targets[..., 0]) ** 2).mean())
        return metrics


def series_task(
    table: Table,
    target: Column,
    inputs: Sequence[Column] | None = None,
    *,
    name: str = "uploaded_series",
) -> SeriesTask:
    """A forecasting task on a table's columns; InputError names a bad column choice."""
    if table.rows < MIN_ROWS:
        raise InputError("csv", f"has {table.rows} rows of data; at least {MIN_ROWS} are needed")
    target_index = _index(table, target, "target")
    chosen = [target_index] if not inputs else []
    for i, column in enumerate(inputs or ()):
        index = _index(table, column, f"inputs[{i}]")
        if index in chosen:
            raise InputError(f"inputs[{i}]", f"{column!r} is chosen twice")
        chosen.append(index)
    return SeriesTask(table, target_index, chosen, name)
