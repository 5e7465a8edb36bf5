"""Detecting non-finite values."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_norms_never_overflow_or_underflow() -> None:
    # The issue's repro: 3e19 squares past float32's range (about 3.4e38).
    big32 = {"g": np.array([3e19], np.float32)}
    assert global_norm(big32) == pytest.approx(3e19, rel=1e-6)
    assert norms(big32)["g"] == pytest.approx(3e19, rel=1e-6)
    assert global_norm({"a": np.array([1e200, 1e200]), "b": np.array([1e200])}) == pytest.approx(
        np.sqrt(3) * 1e200, rel=1e-12
    )
    tiny = {"a": np.array([3e-200, 4e-200])}  # squares underflow to 0 without scaling
    assert global_norm(tiny) == pytest.approx(5e-200, rel=1e-12)
    assert global_norm({"a": np.zeros(3), "b": np.zeros((0,))}) == 0.0
    assert global_norm({}) == 0.0
    assert global_norm({"a": np.array([np.inf, 1.0])}) == np.inf
    assert np.isnan(global_norm({"a": np.array([1.0]), "b": np.array([np.nan])}))
    assert np.isnan(global_norm({"a": np.array([np.inf]), "b": np.array([np.nan])}))
    # The true norm of these finite entries is past float64's largest number: inf is the answer.
    assert global_norm({"a": np.full(4, 1.5e308)}) == np.inf
