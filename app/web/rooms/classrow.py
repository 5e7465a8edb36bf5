"""A fork as the teacher's class view shows it: its config, its loss, and its gradients' verdict.

The verdict reads the fork's own frames (nothing is recomputed). Its measure is the one of
Pascanu, Mikolov & Bengio (2013): how the gradient of the last step's loss changes on its way
back through time. A BPTT's first backward frame (t = T-1) carries flow_row[k] = ||dL_t/dh_k||
for k = 0..t; the ratio flow_row[0] / flow_row[t] is what reaches the first step of what left
the last one. Thresholds (a factor of 1000 either way, over the whole sequence):

- non_finite: the latest update's gradients held inf/NaN (it was skipped), or the loss did;
- exploding: that ratio above EXPLODING_RATIO, or the global gradient norm before clipping
  above EXPLODING_NORM;
- vanishing: that ratio below VANISHING_RATIO;
- unknown: no BPTT measured yet (a fresh fork, or a one-step sequence);
- healthy: anything else.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

import orjson

from app import protocol as p

EXPLODING_RATIO = 1e3  # the first step gets 1000x the gradient the last step's loss started with
VANISHING_RATIO = 1e-3  # ... or a thousandth of it
EXPLODING_NORM = 1e3  # the global gradient norm before clipping
CONFIG_FIELDS = (
    *("cell", "activation", "hidden_size", "clip_mode", "clip_threshold"),
    *("optimizer", "learning_rate"),
)
CSV_COLUMNS = tuple(p.ClassRow.model_fields)
WATCHED = frozenset({"hello", "hyper", "spectrum", "backward", "update", "progress", "replay"})


def flow_ratio(flow_row: list[Any]) -> float | None:
    """flow_row[0] / flow_row[t]: what of the last step's loss gradient reaches step 0.

    None when it says nothing (one step, or no loss at the last step nor anywhere); inf/NaN
    when the gradients did not stay finite.
    """
    row = [float(x) for x in flow_row]  # "NaN"/"Infinity" markers read as floats
    if len(row) < 2:
        return None
    if not all(math.isfinite(x) for x in row):
        return math.nan
    end = row[-1] if row[-1] > 0 else max(row)
    return None if end <= 0 else row[0] / end


def verdict(
    ratio: float | None, norm: float | None, finite: bool, loss: float | None
) -> p.Gradient:
    """The gradient badge (see the module doc for the thresholds)."""
    if not (finite and _all_finite(ratio, norm, loss)):
        return "non_finite"
    if ratio is None and norm is None:
        return "unknown"
    growth = 1.0 if ratio is None else ratio
    if (norm or 0.0) > EXPLODING_NORM or growth > EXPLODING_RATIO:
        return "exploding"
    return "vanishing" if growth < VANISHING_RATIO else "healthy"


def _all_finite(*values: float | None) -> bool:
    return all(math.isfinite(v) for v in values if v is not None)


class RowTracker:
    """Watches one fork's frames (and the knobs its commands turn) to keep its class row."""

    def __init__(self, fork_id: str, name: str) -> None:
        self.fork_id = fork_id
        self.name = name
        self.connected = True
        self.baseline: dict[str, Any] | None = None  # the room's config at fork time
        self.config: dict[str, Any] = {}
        self.seq_len = 0
        self.spectral_radius: float | None = None
        self.iteration = 0
        self.loss: float | None = None
        self.ratio: float | None = None
        self.norm: float | None = None
        self.finite = True
        self.version = 0  # bumped by every change worth reporting

    def see(self, kind: str, data: bytes) -> None:
        """One frame the fork sent (only WATCHED kinds are read)."""
        if kind not in WATCHED:
            return
        frame = orjson.loads(data)
        getattr(self, f"_{kind}")(frame)
        self.version += 1

    def retuned(self, changes: dict[str, Any]) -> None:
        """A command changed the config without a new hello (set_hyper, rescale)."""
        self.config.update(changes)
        self.version += 1

    def _hello(self, frame: dict[str, Any]) -> None:
        self.config = dict(frame["config"])
        if self.baseline is None:
            self.baseline = dict(self.config)
        self.seq_len = int(frame["seq_len"])
        self.iteration, self.loss, self.ratio, self.norm, self.finite = 0, None, None, None, True

    def _hyper(self, frame: dict[str, Any]) -> None:
        self.config = dict(frame["config"])

    def _spectrum(self, frame: dict[str, Any]) -> None:
        self.spectral_radius = float(frame["spectral_radius"])

    def _backward(self, frame: dict[str, Any]) -> None:
        if len(frame["flow_row"]) >= max(self.seq_len, 2):  # the first BPTT step: t = T-1
            self.ratio = flow_ratio(frame["flow_row"])

    def _update(self, frame: dict[str, Any]) -> None:
        self.iteration = int(frame["iteration"]) + 1  # iterations done
        self.loss = float(frame["smooth_loss"])
        self.norm = float(frame["norm_before_clip"])
        self.finite = bool(frame["finite"])

    def _progress(self, frame: dict[str, Any]) -> None:
        self.iteration = int(frame["iteration"])
        self.loss = float(frame["smooth_loss"])
        if frame.get("max_grad_norm") is not None:
            self.norm = float(frame["max_grad_norm"])
        self.finite = int(frame["skipped"]) == 0

    def _replay(self, frame: dict[str, Any]) -> None:
        self.seq_len = int(frame["sequence"]["seq_len"])
        if frame["backward"]:
            self._backward(frame["backward"][0])

    def changed(self) -> list[str]:
        """Config fields that differ from the room's run at fork time."""
        base = self.baseline or {}
        return sorted(k for k, v in self.config.items() if k in base and base[k] != v)

    def row(self) -> p.ClassRow:
        """The class view's row."""
        config = self.config or p.RunConfig().model_dump()
        fields = {k: config[k] for k in CONFIG_FIELDS}
        return p.ClassRow(
            fork_id=self.fork_id,
            name=self.name,
            connected=self.connected,
            spectral_radius=_wire(self.spectral_radius),
            iteration=self.iteration,
            loss=_wire(self.loss),
            gradient=verdict(self.ratio, self.norm, self.finite, self.loss),
            changed=self.changed(),
            **fields,
        )


def _wire(x: float | None) -> p.Number | None:
    return None if x is None else p.wire_number(x)


def class_csv(code: str, rows: list[p.ClassRow]) -> p.ClassCsvFrame:
    """The class table as CSV: one header row, then one row per fork, the ClassRow columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = [getattr(row, column) for column in CSV_COLUMNS]
        writer.writerow([_cell(v) for v in values])
    return p.ClassCsvFrame(filename=f"room-{code}-class.csv", csv=out.getvalue())


def _cell(value: Any) -> str:
    """A CSV cell; a formula-looking text is quoted so a spreadsheet does not run it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
