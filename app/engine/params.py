"""Parameter names, shapes and seeded initialisation.

Names follow the equations (see app.engine.cells for each cell's blocks): W_x{k} (H, D),
W_h{k} (H, H), b_{k} (H,) for every block k of the cell, then its extra biases (torch's GRU's
b_hh (H,)); E (V, D_e) for a learned embedding; W_hy (O, H) and b_y (O,) for the output head.
Initialisation draws from the given generator in that order, so the same seed gives
bit-identical parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from app.engine.cells import BLOCKS, EXTRA_BIASES
from app.engine.spec import InitSpec, ModelSpec
from app.engine.types import Array, Generator, Params


def param_shapes(spec: ModelSpec) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in the canonical order."""
    H, D = spec.hidden_size, spec.input_dim
    shapes: dict[str, tuple[int, ...]] = {}
    for k in BLOCKS[spec.cell]:
        shapes[f"W_x{k}"] = (H, D)
        shapes[f"W_h{k}"] = (H, H)
        shapes[f"b_{k}"] = (H,)
    for name in EXTRA_BIASES.get(spec.cell, ()):
        shapes[name] = (H,)
    if spec.input_kind == "embedding":
        shapes["E"] = (spec.input_size, spec.embedding_size)
    if spec.head != "none":
        shapes["W_hy"] = (spec.output_size, H)
        shapes["b_y"] = (spec.output_size,)
    return shapes


def recurrent_names(spec: ModelSpec) -> list[str]:
    """Names of the recurrent matrices W_h{k}, the ones the init scheme and diagnostics target."""
    return [f"W_h{k}" for k in BLOCKS[spec.cell]]


def check_params(params: Mapping[str, Array], spec: ModelSpec) -> None:
    """Raise ValueError naming the parameter unless names, shapes and dtype match the spec."""
    check_shapes(params, param_shapes(spec), np.dtype(spec.dtype))


def check_shapes(
    params: Mapping[str, Array], shapes: Mapping[str, tuple[int, ...]], dtype: np.dtype[Any]
) -> None:
    """Raise ValueError naming the parameter unless `params` has exactly these names and shapes."""
    missing = [name for name in shapes if name not in params]
    extra = [name for name in params if name not in shapes]
    if missing or extra:
        raise ValueError(f"params do not match the spec: missing {missing}, unexpected {extra}")
    for name, shape in shapes.items():
        _check_array(name, params[name], shape, dtype)


def _check_array(name: str, value: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
    """Raise ValueError naming `name` unless `value` is an array of this shape and dtype."""
    if not isinstance(value, np.ndarray) or value.shape != shape:
        got = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"params[{name!r}] must have shape {shape}; got {got}")
    if value.dtype != dtype:
        raise ValueError(f"params[{name!r}] must be {dtype}; got {value.dtype}")


def spectral_radius(W: Array) -> float:
    """max |lambda| over the eigenvalues of a square matrix."""
    return float(np.abs(np.linalg.eigvals(W)).max())


def orthogonal(n: int, rng: Generator) -> Array:
    """A Haar-random orthogonal matrix: QR of a Gaussian with the signs of R's diagonal fixed."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))  # sign fix makes the distribution uniform (Mezzadri 2007)


def _recurrent(H: int, init: InitSpec, rng: Generator) -> Array:
    """One recurrent matrix under the scheme, rescaled to the requested spectral radius."""
    if init.scheme == "gaussian":
        W = rng.standard_normal((H, H)) * init.scale
    elif init.scheme == "orthogonal":
        W = orthogonal(H, rng)  # every |eigenvalue| is 1
    else:
        W = np.eye(H)  # IRNN: identity recurrence (Le, Jaitly & Hinton 2015)
    if init.spectral_radius is not None:
        radius = spectral_radius(W)
        if radius == 0.0:
            raise ValueError("cannot rescale a recurrent matrix with spectral radius 0 (scale=0?)")
        W *= init.spectral_radius / radius
    return W


def init_params(spec: ModelSpec, init: InitSpec, rng: Generator) -> Params:
    """Fresh parameters: Gaussian(0, scale^2) weights, unit-Gaussian embedding, zero biases.

    Recurrent matrices follow `init.scheme`; the LSTM forget-gate bias starts at init.forget_bias
    (1 by default) so the cell remembers from the start (Gers et al. 2000; Jozefowicz et al. 2015).
    """
    dtype = np.dtype(spec.dtype)
    recurrent = set(recurrent_names(spec))
    params: Params = {}
    for name, shape in param_shapes(spec).items():
        if name in recurrent:
            value = _recurrent(spec.hidden_size, init, rng)
        elif name == "E":
            value = rng.standard_normal(shape)
        elif name.startswith("b_"):
            value = np.full(shape, init.forget_bias if name == "b_f" else 0.0)
        else:
            value = rng.standard_normal(shape) * init.scale
        params[name] = value.astype(dtype)
    return params
