"""Inputs and loss masks that turn the one (T, B) engine into each RNN architecture.

- many-to-many, equal length: inputs and targets (T, B), no mask (loss at every step).
- many-to-one: the loss only at each sequence's last real step: `last_step_mask(lengths, T)`;
  padding after that step changes nothing, since later steps cannot affect earlier ones.
- one-to-many: one input, then each step is fed the previous output; trained with teacher
  forcing, `shifted_inputs(first, targets)`, and run free with sampling.generate / rollout.
- encoder-decoder of unequal lengths: app.engine.seq2seq.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.engine.types import Array


def _lengths(lengths: Any, T: int) -> Array:
    """Validate per-sequence lengths in [1, T]."""
    arr = np.asarray(lengths)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"lengths must be a 1-D integer array; got {arr.dtype} {arr.shape}")
    if arr.size and (arr.min() < 1 or arr.max() > T):
        raise ValueError(f"lengths must lie in [1, {T}]; got [{arr.min()}, {arr.max()}]")
    return arr


def padding_mask(lengths: Any, T: int) -> Array:
    """(T, B) 1 at the real steps t < length_b, 0 on the padding."""
    n = _lengths(lengths, T)
    return (np.arange(T)[:, None] < n[None, :]).astype(np.float64)


def last_step_mask(lengths: Any, T: int) -> Array:
    """(T, B) 1 only at each sequence's last real step: the many-to-one loss."""
    n = _lengths(lengths, T)
    return (np.arange(T)[:, None] == (n - 1)[None, :]).astype(np.float64)


def shifted_inputs(first: Any, targets: Any) -> Array:
    """Teacher forcing: inputs [first, y_0, ..., y_{T-2}] so step t is fed the previous target."""
    y = np.asarray(targets)
    head = np.broadcast_to(np.asarray(first, dtype=y.dtype), y[:1].shape)
    return np.concatenate([head, y[:-1]], axis=0)
