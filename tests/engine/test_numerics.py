"""Detecting non-finite values."""

from __future__ import annotations

import numpy as np

from app.engine import all_finite, global_norm, nonfinite_names, norms


def test_all_finite_over_arrays_dicts_and_floats() -> None:
    good = {"a": np.ones(3), "b": np.zeros((2, 2))}
    assert all_finite(good, np.ones(2), 1.5)
    assert not all_finite(good, float("nan"))
    assert not all_finite({"a": np.array([1.0, np.inf])})
    assert nonfinite_names(
        {"a": np.ones(2), "b": np.array([np.nan]), "c": np.array([-np.inf])}
    ) == ["b", "c"]


def test_norms() -> None:
    arrays = {"a": np.array([3.0, 4.0]), "b": np.array([[12.0]])}
    assert norms(arrays) == {"a": 5.0, "b": 12.0}
    assert global_norm(arrays) == 13.0
