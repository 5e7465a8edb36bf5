"""Softmax and linear heads."""

from __future__ import annotations

import numpy as np

from app.engine import softmax
from app.engine.heads import head_backward, head_forward


def test_softmax_and_cross_entropy_are_stable_and_normalised() -> None:
    z = np.array([[1000.0, 1001.0, -1000.0], [0.0, 0.0, 0.0]])
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(p[0], [1 / (1 + np.e), np.e / (1 + np.e), 0.0])
    np.testing.assert_allclose(p[1], 1 / 3)
    y, losses = head_forward("softmax", z, np.array([2, 0]), None)
    np.testing.assert_array_equal(y, p)
    np.testing.assert_allclose(losses, [2001.0 + np.log1p(np.exp(-1.0)), np.log(3)])


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
