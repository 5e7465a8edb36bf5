"""Output heads: softmax with cross-entropy, and linear with squared error.

Each works on any leading shape: one step's (B, O) logits or a whole sequence's (T, B, O).
Per-element losses are l = -log p[target] (softmax) or l = 1/2 ||y - target||^2 (linear), so
that dl/dlogits is p - onehot(target) or y - target; both are multiplied by the loss mask.
"""

from __future__ import annotations

import numpy as np

from app.engine.types import Array


def softmax(z: Array) -> Array:
    """p = exp(z) / sum(exp(z)) over the last axis, computed stably."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def head_forward(
    head: str, logits: Array, targets: Array, mask: Array | None
) -> tuple[Array, Array]:
    """(y, losses): probabilities or predictions (..., O) and mask-weighted losses (...)."""
    if head == "softmax":
        shifted = logits - logits.max(axis=-1, keepdims=True)  # stable log-softmax
        e = np.exp(shifted)
        total = e.sum(axis=-1, keepdims=True)
        y = e / total  # softmax probabilities
        picked = np.take_along_axis(shifted, targets[..., None], axis=-1)[..., 0]
        losses = np.log(total[..., 0]) - picked  # cross-entropy -log p[target]
    elif head == "linear":
        y = logits  # identity output
        diff = logits - targets
        losses = 0.5 * np.einsum("...o,...o->...", diff, diff)  # 1/2 ||y - target||^2
    else:
        raise ValueError(f"head must be softmax or linear; got {head!r}")
    if mask is not None:
        losses = losses * mask
    return y, losses


def head_backward(head: str, y: Array, targets: Array, scale: Array) -> Array:
    """dL/dlogits (..., O) for L = sum(scale * l): scale is the loss mask divided by B."""
    if head == "softmax":
        d = y.copy()
        flat = d.reshape(-1, d.shape[-1])
        flat[np.arange(flat.shape[0]), targets.ravel()] -= 1.0  # backprop into y: p - onehot
    elif head == "linear":
        d = y - targets  # d/dy of 1/2 ||y - target||^2
    else:
        raise ValueError(f"head must be softmax or linear; got {head!r}")
    d *= scale[..., None]
    return d
