"""The fast training path, gradient clipping and the update that applies them.

loss_and_grads is min-char-rnn's lossFun made lean: one gather or matrix product projects all
T inputs, the Python loop holds only the recurrence (forward, then backward), and one matrix
product per weight sums the per-step outer products at the end. No per-step records are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from app.engine.heads import head_forward
from app.engine.numerics import all_finite, global_norm
from app.engine.optim import Optimizer
from app.engine.spec import ModelSpec
from app.engine.types import Array, Sequences
from app.engine.unroll import (
    build_model,
    carry,
    head_gradients,
    make_batch,
    output_logits,
    run_backward,
    run_forward,
)


def loss_and_grads(
    params: Mapping[str, Array],
    spec: ModelSpec,
    data: Sequences,
    *,
    h0: Any = None,
    truncation: int | None = None,
) -> tuple[float, dict[str, Array], Array]:
    """(total loss, every parameter's gradient, final state to pass back as h0) of `data`.

    The final state is h_T (B, H), or [h_T, c_T] (B, 2H) for an LSTM, so that stateful
    training (min-char-rnn's hprev) carries the cell state too.
    """
    if spec.head == "none":
        raise ValueError("loss_and_grads needs a model with an output head")
    model = build_model(params, spec)
    batch = make_batch(model, data.inputs, data.targets, data.loss_mask)
    tape = run_forward(model, batch, h0)
    logits = output_logits(model, tape.hs[1:])  # (T, B, O) in one product
    assert batch.targets is not None
    ys, losses = head_forward(spec.head, logits, batch.targets, batch.mask)
    dlogits, dh_head = head_gradients(model, batch, ys)
    grads, _ = run_backward(model, batch, tape, dh_head, dlogits, truncation=truncation)
    return float(losses.sum()) / batch.B, grads, carry(tape)


@dataclass(frozen=True)
class ClipResult:
    """Clipped gradients, the global norm before clipping and whether anything changed."""

    grads: dict[str, Array]
    norm_before: float
    clipped: bool
    finite: bool = True  # False: non-finite gradients were returned unclipped, do not apply


ClipMode = Literal["none", "norm", "value"]
CLIP_MODES: tuple[ClipMode, ...] = get_args(ClipMode)


def clip_gradients(grads: Mapping[str, Array], mode: str, threshold: float) -> ClipResult:
    """Clip by global norm (Pascanu, Mikolov & Bengio 2013) or element-wise to [-c, c].

    Non-finite gradients are never clipped into finite-looking ones (value clipping would turn
    inf into c): they come back unchanged with finite=False, and the optimizers refuse them.
    """
    if mode not in CLIP_MODES:
        raise ValueError(f"mode must be one of {', '.join(CLIP_MODES)}; got {mode!r}")
    if mode != "none" and not threshold > 0:
        raise ValueError(f"threshold must be positive; got {threshold!r}")
    norm = global_norm(grads)
    out = {name: g.copy() for name, g in grads.items()}
    if not all_finite(grads):
        return ClipResult(out, norm, clipped=False, finite=False)
    if mode == "norm":
        return ClipResult(out, norm, _clip_norm(out, norm, threshold))
    return ClipResult(out, norm, mode == "value" and _clip_values(out, threshold))


def _clip_norm(grads: dict[str, Array], norm: float, threshold: float) -> bool:
    """Rescale the gradients in place to global norm c if above it, keeping their direction."""
    if not norm > threshold:
        return False
    scale = threshold / norm
    for g in grads.values():
        g *= scale
    return True


def _clip_values(grads: dict[str, Array], threshold: float) -> bool:
    """Clip every entry in place to [-c, c], as min-char-rnn's np.clip(d, -5, 5)."""
    clipped = False
    for g in grads.values():
        if np.abs(g).max(initial=0.0) > threshold:
            np.clip(g, -threshold, threshold, out=g)
            clipped = True
    return clipped


@dataclass(frozen=True)
class Applied:
    """What an update did: the clipping report, and whether the parameters moved."""

    grads: dict[str, Array]
    norm_before: float
    norm_after: float  # of the gradient the update used (equal to norm_before unless clipped)
    clipped: bool
    applied: bool


def apply_gradients(
    params: dict[str, Array],
    optimizer: Optimizer,
    grads: Mapping[str, Array],
    clip_mode: str,
    clip_threshold: float,
) -> Applied:
    """Clip, then update in place, unless the gradients hold inf/NaN: such an update is refused."""
    clip = clip_gradients(grads, clip_mode, clip_threshold)
    applied = bool(clip.finite and np.isfinite(clip.norm_before))
    if applied:
        optimizer.update(params, clip.grads)
    norm_after = global_norm(clip.grads) if clip.clipped else float(clip.norm_before)
    return Applied(clip.grads, float(clip.norm_before), norm_after, bool(clip.clipped), applied)
