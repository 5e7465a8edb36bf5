"""Element-wise nonlinearities f, their derivatives in terms of the output, and |f'| bounds."""

from __future__ import annotations

import numpy as np

from app.engine.types import Array

# sup |f'(a)|: the gamma of Pascanu, Mikolov & Bengio (2013), bounding ||diag(f'(a))|| <= gamma
GAMMA: dict[str, float] = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "linear": 1.0}


def sigmoid(a: Array, out: Array | None = None) -> Array:
    """Logistic sigmoid via tanh, which cannot overflow: s(a) = (1 + tanh(a / 2)) / 2."""
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def activate(name: str, a: Array, out: Array | None = None) -> Array:
    """h = f(a) for the named activation, written into `out` when given."""
    if name == "tanh":
        return np.tanh(a, out=out)
    if name == "relu":
        return np.maximum(a, 0, out=out)
    if name == "sigmoid":
        return sigmoid(a, out=out)
    if name == "linear":
        if out is None:
            return a.copy()
        out[...] = a
        return out
    raise ValueError(f"activation must be one of {', '.join(GAMMA)}; got {name!r}")


def derivative_from_output(name: str, h: Array) -> Array:
    """f'(a) expressed through h = f(a), as backprop uses it (min-char-rnn's 1 - h * h)."""
    if name == "tanh":
        return 1.0 - h * h  # tanh' = 1 - tanh^2
    if name == "relu":
        return (h > 0).astype(h.dtype)  # relu' = [a > 0], taken as 0 at a = 0
    if name == "sigmoid":
        return h * (1.0 - h)  # s' = s (1 - s)
    if name == "linear":
        return np.ones_like(h)
    raise ValueError(f"activation must be one of {', '.join(GAMMA)}; got {name!r}")
