"""Masks and shifted inputs for many-to-one and one-to-many."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import last_step_mask, padding_mask, shifted_inputs


def test_masks() -> None:
    np.testing.assert_array_equal(last_step_mask([2, 3, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(padding_mask([2, 3, 1], 3), [[1, 1, 1], [1, 1, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="lengths"):
        last_step_mask([0, 2], 3)
    with pytest.raises(ValueError, match="lengths"):
        padding_mask([4], 3)


def test_shifted_inputs_feed_each_step_the_previous_target() -> None:
    y = np.array([[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(shifted_inputs(0, y), [[0, 0], [1, 2], [3, 4]])
    real = np.arange(12.0).reshape(3, 2, 2)
    out = shifted_inputs(np.zeros((1, 2, 2)), real)
    np.testing.assert_array_equal(out[1:], real[:-1])
    np.testing.assert_array_equal(out[0], 0.0)
