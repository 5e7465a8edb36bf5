"""Held-out metrics computed from a model's outputs, independent of the engine's loss code."""

from __future__ import annotations

import numpy as np

from app.tasks.base import Batch

TINY = 1e-300  # floor inside log so a probability of exactly 0 gives a large, finite loss


def counted(batch: Batch) -> np.ndarray:
    """(T, B) weights of the positions that count: the loss mask, or all ones."""
    T, B = batch.targets.shape[:2]
    return np.ones((T, B)) if batch.loss_mask is None else np.asarray(batch.loss_mask, float)


def score_tokens(batch: Batch, ys: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy -log y[target] (nats per counted target) and argmax accuracy."""
    mask = counted(batch)
    targets = np.where(mask > 0, batch.targets, 0)
    picked = np.take_along_axis(ys, targets[..., None], axis=-1)[..., 0]  # (T, B)
    losses = -np.log(np.maximum(picked, TINY))
    hits = (ys.argmax(axis=-1) == targets).astype(float)
    total = mask.sum()
    return {
        "loss": float((losses * mask).sum() / total),
        "accuracy": float((hits * mask).sum() / total),
    }


def score_real(batch: Batch, ys: np.ndarray) -> dict[str, float]:
    """Mean squared error per counted output, and the engine's loss 1/2 ||y - target||^2."""
    mask = counted(batch)
    squared = ((ys - batch.targets) ** 2).sum(axis=-1)  # (T, B)
    total = mask.sum()
    return {
        "loss": float(0.5 * (squared * mask).sum() / total),
        "mse": float((squared * mask).sum() / (total * ys.shape[-1])),
    }


def masked_accuracy(batch: Batch, ys: np.ndarray, where: np.ndarray) -> float:
    """Argmax accuracy over the (T, B) positions selected by `where` (NaN if none)."""
    selected = where.astype(bool)
    if not selected.any():
        return float("nan")
    hits = ys.argmax(axis=-1) == batch.targets
    return float(hits[selected].mean())
