"""Detecting non-finite values and measuring norms of parameter-shaped dictionaries."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from app.engine.types import Array


class NonFiniteError(ValueError):
    """Raised instead of pushing a NaN or infinity into the parameters."""


def all_finite(*values: Array | Mapping[str, Array] | float) -> bool:
    """True when every number in the given arrays, dictionaries of arrays or floats is finite."""
    for value in values:
        if isinstance(value, Mapping):
            if not all(np.isfinite(v).all() for v in value.values()):
                return False
        elif not np.isfinite(value).all():
            return False
    return True


def nonfinite_names(arrays: Mapping[str, Array]) -> list[str]:
    """Names of the arrays holding at least one NaN or infinity, in dictionary order."""
    return [name for name, value in arrays.items() if not np.isfinite(value).all()]


def largest_magnitude(values: Array) -> float:
    """max |x| over an array (0 when empty; NaN if it holds one), as a float64."""
    if values.size == 0:
        return 0.0
    return float(np.max(np.abs(values)))


def norm(values: Array) -> float:
    """The Frobenius norm, scaled by the largest entry before squaring (as LAPACK's nrm2 does), so
    a finite array never has an overflowing or underflowing norm: 3e19 in float32 squares to inf,
    and 1e200 does in float64."""
    peak = largest_magnitude(values)
    if peak == 0.0 or not np.isfinite(peak):
        return peak  # 0, inf or NaN: already the answer
    scaled = values / values.dtype.type(peak)  # every entry in [-1, 1]
    return peak * float(np.sqrt(np.vdot(scaled, scaled).real))


def combined_norm(parts: list[float]) -> float:
    """sqrt(sum of squares) of norms, scaled by the largest so no square overflows."""
    if any(p != p for p in parts):
        return float("nan")
    peak = max(parts, default=0.0)
    if peak == 0.0 or peak == float("inf"):
        return peak
    return peak * float(np.sqrt(sum((p / peak) ** 2 for p in parts)))


def norms(arrays: Mapping[str, Array]) -> dict[str, float]:
    """Frobenius norm of each array."""
    return {name: norm(v) for name, v in arrays.items()}


def global_norm(arrays: Mapping[str, Array]) -> float:
    """sqrt(sum of squares over all arrays), the norm clipped by Pascanu, Mikolov & Bengio 2013.

    Finite unless an entry is inf or NaN, or the true norm passes float64's largest number.
    """
    return combined_norm(list(norms(arrays).values()))
