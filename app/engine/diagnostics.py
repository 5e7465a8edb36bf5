"""Gradient diagnostics: step Jacobians, the gradient-flow matrix and W_hh's spectrum.

Pascanu, Mikolov & Bengio (2013): dL_t/dh_k = dL_t/dh_t prod_{k<j<=t} dh_j/dh_{j-1}, and for
h_t = f(W_hh h_{t-1} + ...) each factor is diag(f'(a_j)) W_hh, whose norm is at most
gamma sigma_max(W_hh) with gamma = sup |f'|. So sigma_max < 1/gamma is sufficient for the
gradient to vanish geometrically, and sigma_max > 1/gamma is necessary for it to explode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.engine.activations import GAMMA, derivative_from_output
from app.engine.cells import Tape
from app.engine.spec import ModelSpec
from app.engine.types import Array
from app.engine.unroll import Model, build_model, head_gradients

if TYPE_CHECKING:
    from app.engine.forward import ForwardTrace

_ALL = slice(None)  # every time step


def jacobians_of(model: Model, tape: Tape, batch_index: int = 0, steps: slice = _ALL) -> Array:
    """(n, H, H) the step Jacobians dh_t/dh_{t-1} (c_{t-1} held fixed) of one batch element.

    The cell's tangent map applied to the H unit vectors at once: J_t e_j for every j.
    """
    H = model.spec.hidden_size
    b = slice(batch_index, batch_index + 1)
    eye = np.eye(H, dtype=model.dtype)  # tangent seeds e_j
    cols = model.cell.jvp(tape, (steps, b), eye, model.w)  # (n, H, H): [t, j] = J_t e_j
    return np.ascontiguousarray(cols.transpose(0, 2, 1))


def jacobian_norms_of(model: Model, tape: Tape, batch_index: int = 0, steps: slice = _ALL) -> Array:
    """(n,) sigma_max(dh_t/dh_{t-1}) by LAPACK's SVD: exact, O(H^3) per step; NaN if not finite.

    Krylov methods (Lanczos on J J^T) are faster for a tanh RNN but need up to H iterations
    when the top singular values cluster, as they do for gated cells near init (J ~ diag(z)).
    """
    J = jacobians_of(model, tape, batch_index, steps).astype(np.float64)
    finite = np.isfinite(J).all(axis=(1, 2))
    norms = np.full(J.shape[0], np.nan)  # NaN reports a step that blew up; SVD cannot take it
    if finite.any():
        norms[finite] = np.linalg.svd(J[finite], compute_uv=False)[:, 0]
    return norms


def jacobian_norms(
    trace: ForwardTrace, params: Mapping[str, Array], spec: ModelSpec, *, batch_index: int = 0
) -> Array:
    """(T,) sigma_max(dh_t/dh_{t-1}) at every step of a finished forward pass."""
    return jacobian_norms_of(build_model(params, spec), trace.tape, batch_index)


def gradient_flow(
    trace: ForwardTrace, params: Mapping[str, Array], spec: ModelSpec, *, batch_index: int = 0
) -> Array:
    """(T, T) lower triangular: [t, k] = ||dL_t/dh_k|| for k <= t, 0 above the diagonal.

    One backward sweep carries all T losses at once as rows of a matrix: at step k the rows
    t >= k hold dL_t/dh_k, and the step's backward maps them all to dL_t/dh_{k-1} together.
    L_t is the step loss (mask-weighted, divided by B) and h_k the hidden state of one element.
    """
    model = build_model(params, spec)
    if spec.head == "none":
        raise ValueError("gradient_flow needs a model with an output head and losses")
    tape, batch = trace.tape, trace.batch
    _, dh_head = head_gradients(model, batch, trace.ys)
    T, H = batch.T, spec.hidden_size
    b = slice(batch_index, batch_index + 1)
    seen = np.zeros((T, T, H), model.dtype)  # seen[t, k] = dL_t/dh_k, filled column by column
    dc = np.zeros((T, H), model.dtype) if tape.cs is not None else None  # dL_t/dc_k rows
    for k in range(T - 1, -1, -1):
        seen[k, k] = dh_head[k, batch_index]  # loss k enters at h_k through the head
        if k > 0:  # every loss t >= k steps back from h_k to h_{k-1} in one call
            rows_c = None if dc is None else dc[k:]
            _, seen[k:, k - 1], dc_prev = model.cell.backward(
                tape, (k, b), seen[k:, k], rows_c, model.w
            )
            if dc is not None:
                dc[k:] = dc_prev
    return np.sqrt(np.einsum("tkh,tkh->tk", seen, seen, dtype=np.float64))  # zeros above


def saturation(trace: ForwardTrace, batch_index: int = 0) -> float:
    """Mean |f'(a_t)| over one sequence's units and steps: near 0 the nonlinearity is saturated.

    For the vanilla cell f is its activation (tanh: 1 - h^2); a gated cell saturates in its
    candidate's tanh (LSTM g, GRU h~).
    """
    spec = trace.spec
    if spec.cell == "rnn":
        slopes = derivative_from_output(spec.activation, trace.hs[:, batch_index])
    else:
        candidate = trace.gates["g" if spec.cell == "lstm" else "h_tilde"][:, batch_index]
        slopes = derivative_from_output("tanh", candidate)
    return float(np.abs(slopes).mean())


@dataclass(frozen=True)
class Spectrum:
    """Singular values and eigenvalues of a recurrent matrix, with the Pascanu et al. bound."""

    singular_values: Array  # descending
    eigenvalues: Array  # complex, by descending modulus
    spectral_radius: float  # max |lambda|
    largest_singular_value: float  # sigma_max = ||W_hh||_2
    gamma: float  # sup |f'|: tanh 1, sigmoid 1/4, relu 1, linear 1
    vanishing_sufficient: bool  # sigma_max < 1/gamma: gradients vanish (Pascanu et al. 2013)
    exploding_necessary: bool  # sigma_max > 1/gamma: needed (not enough) for them to explode
    finite: bool = True  # False: W_hh holds NaN or inf, every figure above is NaN


def spectrum(W_hh: Array, activation: str = "tanh") -> Spectrum:
    """Spectral diagnostics of W_hh under the activation's derivative bound."""
    if activation not in GAMMA:
        raise ValueError(f"activation must be one of {', '.join(GAMMA)}; got {activation!r}")
    W = np.asarray(W_hh, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W_hh must be a square matrix; got shape {W.shape}")
    gamma = GAMMA[activation]
    if not np.isfinite(W).all():  # an exploded run: report NaN, LAPACK cannot take it
        nan = float("nan")
        sv, eig = np.full(W.shape[0], nan), np.full(W.shape[0], nan, dtype=complex)
        return Spectrum(sv, eig, nan, nan, gamma, False, False, finite=False)
    sv = np.linalg.svd(W, compute_uv=False)
    eig = np.linalg.eigvals(W)
    eig = eig[np.argsort(-np.abs(eig), kind="stable")]
    sigma = float(sv[0])
    return Spectrum(
        singular_values=sv,
        eigenvalues=eig,
        spectral_radius=float(np.abs(eig).max()),
        largest_singular_value=sigma,
        gamma=gamma,
        vanishing_sufficient=sigma < 1.0 / gamma,
        exploding_necessary=sigma > 1.0 / gamma,
    )
