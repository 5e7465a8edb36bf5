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


def norms(arrays: Mapping[str, Array]) -> dict[str, float]:
    """Frobenius norm of each array."""
    return {name: float(np.sqrt(np.vdot(v, v).real)) for name, v in arrays.items()}


def global_norm(arrays: Mapping[str, Array]) -> float:
    """sqrt(sum of squares over all arrays), the norm clipped by Pascanu, Mikolov & Bengio 2013."""
    return float(np.sqrt(sum(float(np.vdot(v, v).real) for v in arrays.values())))
