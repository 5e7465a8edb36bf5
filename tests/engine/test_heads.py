"""Softmax and linear heads."""

from __future__ import annotations

import numpy as np

from app.engine import log_softmax, softmax
from app.engine.heads import head_backward, head_forward


def test_log_softmax_is_stable_and_normalised() -> None:
    z = np.array([[1000.0, 1001.0, -1000.0], [0.0, 0.0, 0.0]])
    lp = log_softmax(z)
    assert np.isfinite(lp).all()
    np.testing.assert_allclose(np.exp(lp).sum(axis=-1), 1.0)
    np.testing.assert_allclose(lp[1], np.log(1 / 3))
    np.testing.assert_allclose(softmax(z), np.exp(lp))


def test_head_losses_and_gradients() -> None:
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    y, losses = head_forward("softmax", logits, np.array([0, 2]), None)
    np.testing.assert_allclose(losses, -np.log(y[[0, 1], [0, 2]]))
    d = head_backward("softmax", y, np.array([0, 2]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(d, (y - np.eye(3)[[0, 2]]) * [[1.0], [0.5]])
    target = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    y, losses = head_forward("linear", logits, target, np.array([1.0, 0.0]))
    np.testing.assert_allclose(losses, [0.5 * (1 + 1 + 4), 0.0])
    np.testing.assert_allclose(head_backward("linear", y, target, np.ones(2)), logits - target)
