"""The one finite-difference oracle, and small random cases for every cell, input, head and shape.

Gradients are compared array by array in norm: ||analytic - numeric|| / max(||analytic||,
||numeric||) < 1e-6, with central differences of step 1e-5 in float64 (truncation error about
1e-11, rounding about 1e-11, both far below the tolerance at the scales used here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine import Forward, InitSpec, ModelSpec, init_params
from app.tasks.base import last_step_mask

Array = np.ndarray

CELLS = ("rnn", "lstm", "gru", "gru_torch")
INPUT_KINDS = ("onehot", "embedding", "real")
HEADS = ("softmax", "linear")


def numerical_gradient(
    f: Callable[[], float], params: Mapping[str, Array], eps: float = 1e-5
) -> dict[str, Array]:
    """Central differences (f(p + eps) - f(p - eps)) / 2 eps of every entry of every parameter.

    f reads the parameters it is given, which are perturbed in place and restored exactly.
    """
    grads: dict[str, Array] = {}
    for name, p in params.items():
        g = np.zeros(p.shape)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = f()
            p[i] = old - eps
            down = f()
            p[i] = old
            g[i] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def relative_error(a: Array, b: Array, floor: float = 1e-7) -> float:
    """||a - b|| / max(||a||, ||b||, floor): the floor keeps gradients that are ~0 comparable."""
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), floor)
    return float(np.linalg.norm(a - b)) / scale


def assert_gradients_match(
    analytic: Mapping[str, Array], numeric: Mapping[str, Array], rtol: float = 1e-6
) -> None:
    """Every parameter's analytic gradient matches the numeric one to `rtol` in norm."""
    assert set(analytic) == set(numeric)
    errors = {name: relative_error(analytic[name], numeric[name]) for name in numeric}
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < rtol, f"gradient of {worst} off by {errors[worst]:.2e}: {errors}"


@dataclass
class Case:
    """A small random problem: spec, parameters, batch and initial state."""

    spec: ModelSpec
    params: dict[str, Array]
    inputs: Array
    targets: Array
    mask: Array | None
    h0: Array | None


def make_case(
    cell: str,
    input_kind: str,
    head: str,
    arch: str = "many_to_many",
    *,
    activation: str = "tanh",
    seed: int = 0,
    T: int = 5,
    B: int = 3,
    H: int = 4,
    V: int = 5,
    D: int = 3,
    O: int = 3,
) -> Case:
    """A random case. arch: many_to_many, many_to_one (padded), one_to_many, stateful, masked."""
    rng = np.random.default_rng(seed)
    if arch == "one_to_many":  # outputs are fed back as inputs, so they must match
        O = V if input_kind != "real" else D
    spec = ModelSpec(
        cell=cell,
        activation=activation,
        input_kind=input_kind,
        input_size=D if input_kind == "real" else V,
        embedding_size=D if input_kind == "embedding" else 0,
        hidden_size=H,
        output_size=O,
        head=head,
    )
    params = init_params(spec, InitSpec(scale=0.5), rng)
    for name, p in params.items():
        if name.startswith("b_"):
            p += 0.2 * rng.standard_normal(p.shape)  # generic biases, not the zeros of init
    targets: Array = (
        rng.integers(0, O, (T, B)) if head == "softmax" else rng.standard_normal((T, B, O))
    )
    if arch == "one_to_many":
        first = (
            rng.integers(0, V, (1, B)) if input_kind != "real" else rng.standard_normal((1, B, D))
        )
        inputs = np.concatenate([first, targets[:-1]])  # teacher forcing: the previous output
    else:
        inputs = (
            rng.integers(0, V, (T, B)) if input_kind != "real" else rng.standard_normal((T, B, D))
        )
    mask = None
    if arch == "many_to_one":
        mask = last_step_mask(rng.integers(1, T + 1, B), T)
    elif arch == "masked":
        mask = (rng.random((T, B)) < 0.6).astype(float)
    h0 = None
    if arch == "stateful":  # carried over from a previous chunk, as min-char-rnn's hprev
        h0 = 0.5 * rng.standard_normal((B, spec.state_size))
    return Case(spec, params, inputs, targets, mask, h0)


def state_after(trace: Any, s: int) -> Array:
    """The carried state after step s of a trace: h_s, or [h_s, c_s] for an LSTM."""
    if "c" in trace.gates:
        return np.concatenate([trace.hs[s], trace.gates["c"][s]], axis=-1)
    return np.array(trace.hs[s])


def truncated_objective(case: Case, k: int) -> Callable[[], float]:
    """sum_t L_t, each run from the state k steps before t held fixed (computed at the base params).

    Its gradient is what truncated BPTT with k steps computes: each loss reaches back k steps.
    """
    base = Forward(case.params, case.spec, case.inputs, case.targets, h0=case.h0).run()
    starts = {s: state_after(base, s - 1) for s in range(1, case.inputs.shape[0])}
    T, B = case.inputs.shape[:2]
    weights = np.ones((T, B)) if case.mask is None else case.mask

    def objective() -> float:
        total = 0.0
        for t in range(T):
            s = max(0, t - k + 1)  # the window of steps s .. t the loss at t reaches
            mask = np.zeros((t - s + 1, B))
            mask[-1] = weights[t]
            h0 = case.h0 if s == 0 else starts[s]
            fwd = Forward(
                case.params,
                case.spec,
                case.inputs[s : t + 1],
                case.targets[s : t + 1],
                h0=h0,
                loss_mask=mask,
            )
            total += fwd.run().total_loss
        return total

    return objective
