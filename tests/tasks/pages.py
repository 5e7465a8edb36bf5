"""A preset measured as a student meets it: through a Session, the pages' own code path, read off
the frames as the browser receives them."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from app import protocol as p
from app.session import Session
from app.tasks import Preset

LIMITS = p.Limits(  # the server's defaults (app/web/settings.py)
    max_hidden_size=256,
    max_seq_len=200,
    max_vocab=256,
    max_batch=64,
    max_train_iterations=5000,
    max_message_bytes=65536,
    max_commands_per_second=50,
)


def received(frame: Any) -> dict[str, Any]:
    """A frame as the browser receives it, checked against the protocol."""
    data = orjson.loads(p.encode(frame))
    p.frame_adapter.validate_python(data)
    return data  # type: ignore[no-any-return]


def number(value: float | str | None) -> float:
    """A number off the wire ("NaN" and "Infinity" included); None is NaN."""
    return float("nan") if value is None else float(value)


def stepped(session: Session) -> dict[str, float]:
    """Step the iteration on screen forward to its end and back to t = 0, as the page's arrow
    keys do; what its backward frames show of the last loss's gradient."""
    T = session.iteration.length
    for _ in range(T):
        session.step_forward()
    frames = [received(session.step_backward()) for _ in range(T)]  # t = T-1 down to 0
    last = np.array([number(v) for v in frames[0]["flow_row"]])  # ||dL_T/dh_k||, k = 0 .. T-1
    with np.errstate(divide="ignore", invalid="ignore"):
        shown = {"flow_ratio": last[0] / last[-1], "flow_minimum": last.min() / last[-1]}
        if frames[0]["dc_norm"] is not None:  # ||dL/dc_k|| against its start at T-1
            cell = np.array([number(f["dc_norm"]) for f in frames]) / number(frames[0]["dc_norm"])
            shown["cell_spread"] = max(cell.max(), 1.0 / cell.min())
    return {name: float(value) for name, value in shown.items()}


def measured(preset: Preset) -> dict[str, float]:
    """Every metric a preset's expectations may name, measured through a Session: the first
    iteration stepped (initial_*), `iterations` updates trained as the train button does, the
    held-out metrics the progress frame carries, and the next iteration stepped (final_*)."""
    session = Session(p.RunConfig(**preset.config), LIMITS)
    initial = stepped(session)  # the stepped iteration is trained on from scratch below
    progress = received(session.train(preset.iterations))
    final = stepped(session)
    return {
        **{name: number(value) for name, value in (progress["heldout"] or {}).items()},
        "train_loss": number(progress["loss"]),
        "skipped": float(progress["skipped"]),
        "clipped": float(progress["clipped"]),
        "max_grad_norm": number(progress["max_grad_norm"]),
        **{f"initial_{name}": value for name, value in initial.items()},
        **{f"final_{name}": value for name, value in final.items()},
    }
