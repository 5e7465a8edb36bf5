"""A fork's class row: the gradient verdict's thresholds, the row kept from frames, the CSV."""

from __future__ import annotations

import csv
import io
import math

import orjson
import pytest

from app import protocol as p
from app.session import Session
from app.tasks.presets import PRESETS
from app.web.rooms.classrow import (
    EXPLODING_NORM,
    EXPLODING_RATIO,
    VANISHING_RATIO,
    RowTracker,
    class_csv,
    flow_ratio,
    verdict,
)
from app.web.sessions import limits_from
from app.web.settings import Settings


@pytest.mark.parametrize(
    ("ratio", "norm", "finite", "loss", "expected"),
    [
        (None, None, True, None, "unknown"),  # no BPTT yet
        (0.5, 3.0, True, 2.0, "healthy"),
        (VANISHING_RATIO * 0.99, 3.0, True, 2.0, "vanishing"),
        (VANISHING_RATIO * 1.01, 3.0, True, 2.0, "healthy"),
        (EXPLODING_RATIO * 1.01, 3.0, True, 2.0, "exploding"),
        (EXPLODING_RATIO * 0.99, 3.0, True, 2.0, "healthy"),
        (1.0, EXPLODING_NORM * 1.01, True, 2.0, "exploding"),  # a huge global norm
        (None, EXPLODING_NORM * 1.01, True, 2.0, "exploding"),
        (None, 3.0, True, 2.0, "healthy"),  # trained without a BPTT frame seen: the norm tells
        (1.0, 3.0, False, 2.0, "non_finite"),  # the update was skipped
        (math.nan, 3.0, True, 2.0, "non_finite"),
        (1.0, math.inf, True, 2.0, "non_finite"),
        (1.0, 3.0, True, math.nan, "non_finite"),
    ],
)
def test_the_verdict_thresholds(
    ratio: float | None, norm: float | None, finite: bool, loss: float | None, expected: str
) -> None:
    assert verdict(ratio, norm, finite, loss) == expected


def test_the_flow_ratio_is_what_reaches_the_first_step_of_the_last_losss_gradient() -> None:
    assert flow_ratio([0.001, 0.1, 1.0]) == pytest.approx(0.001)
    assert flow_ratio([4.0, 2.0]) == 2.0
    assert flow_ratio([1.0]) is None  # one step: nothing travelled
    assert flow_ratio([0.5, 2.0, 0.0]) == 0.25  # no loss at the last step: against the largest
    assert flow_ratio([0.0, 0.0]) is None
    assert math.isnan(flow_ratio(["NaN", 1.0]))  # type: ignore[arg-type, list-item]


def frames_of(session: Session, *calls: str) -> list[tuple[str, bytes]]:
    out = []
    for call in calls:
        produced = getattr(session, call)()
        for frame in produced if isinstance(produced, list) else [produced]:
            out.append((frame.type, p.encode(frame)))
    return out


def test_a_row_follows_the_forks_frames_and_knobs() -> None:
    config = p.RunConfig(seq_len=6, hidden_size=4)
    session = Session(config, limits_from(Settings()))
    tracker = RowTracker("f1", "Ada")
    for kind, data in frames_of(session, "hello", "spectrum"):
        tracker.see(kind, data)
    assert tracker.row().gradient == "unknown" and tracker.row().iteration == 0
    for kind, data in frames_of(session, "finish_iteration"):
        tracker.see(kind, data)
    row = tracker.row()
    assert row.iteration == 1 and isinstance(row.loss, float)
    assert row.gradient in ("healthy", "vanishing") and row.spectral_radius is not None
    assert row.changed == [] and row.hidden_size == 4 and row.connected
    hyper = {"type": "hyper", "config": {**config.model_dump(), "learning_rate": 0.5}}
    tracker.see("hyper", orjson.dumps(hyper))
    assert tracker.row().changed == ["learning_rate"] and tracker.row().learning_rate == 0.5


@pytest.mark.parametrize(
    ("preset", "expected"),
    [("gradients-linear-0.5", "vanishing"), ("gradients-linear-1.5", "exploding")],
)
def test_the_lesson_presets_get_the_verdict_their_lesson_names(preset: str, expected: str) -> None:
    # W_hh = r * I under a linear activation: the last loss's gradient scales as r^(T-1) on its
    # way back, 0.5^19 (2e-6) and 1.5^19 (2e3) at T = 20.
    config = p.RunConfig.model_validate(dict(PRESETS[preset].config))
    session = Session(config, limits_from(Settings()))
    tracker = RowTracker("f1", "Ada")
    for kind, data in frames_of(session, "hello", "spectrum", "finish_iteration"):
        tracker.see(kind, data)
    assert tracker.row().gradient == expected


def test_the_csv_has_a_header_and_a_row_per_fork_and_defuses_formulas() -> None:
    tracker = RowTracker("f1", "=HYPERLINK(1)")
    tracker.see("hello", p.encode(Session(p.RunConfig(), limits_from(Settings())).hello()))
    rows = [tracker.row(), tracker.row().model_copy(update={"fork_id": "f2", "loss": "NaN"})]
    frame = class_csv("ABCDEF", rows)
    assert frame.filename == "room-ABCDEF-class.csv"
    table = list(csv.reader(io.StringIO(frame.csv)))
    assert table[0] == list(p.ClassRow.model_fields) and len(table) == 3
    assert table[1][1] == "'=HYPERLINK(1)" and table[2][table[0].index("loss")] == "NaN"
