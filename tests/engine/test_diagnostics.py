"""Gradient flow, step Jacobians and the spectrum: against finite differences and the theory."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import (
    Backward,
    Forward,
    InitSpec,
    ModelSpec,
    gradient_flow,
    init_params,
    jacobian_norms,
    spectrum,
)
from app.engine.diagnostics import jacobians_of
from app.engine.heads import head_forward
from app.engine.params import orthogonal
from app.engine.unroll import build_model
from tests.engine.gradcheck import CELLS, Case, make_case, numerical_gradient, state_after


def step_loss_from(case: Case, k: int, t: int, h_k0: np.ndarray, base: np.ndarray) -> float:
    """L_t as a function of batch element 0's h_k (everything else held at the base run)."""
    spec, params = case.spec, case.params
    state = base.copy()
    state[0, : spec.hidden_size] = h_k0
    mask_t = None if case.mask is None else case.mask[t]
    B = case.inputs.shape[1]
    if t == k:
        logits = state[:, : spec.hidden_size] @ params["W_hy"].T + params["b_y"]
        _, losses = head_forward(spec.head, logits, case.targets[t], mask_t)
        return float(losses.sum()) / B
    mask = np.zeros((t - k, B))
    mask[-1] = 1.0 if mask_t is None else mask_t
    fwd = Forward(
        params,
        spec,
        case.inputs[k + 1 : t + 1],
        case.targets[k + 1 : t + 1],
        h0=state,
        loss_mask=mask,
    )
    return fwd.run().total_loss


@pytest.mark.parametrize("cell", CELLS)
def test_gradient_flow_entries_match_finite_differences(cell: str) -> None:
    case = make_case(cell, "onehot", "softmax", "masked", T=5, B=2)
    trace = Forward(case.params, case.spec, case.inputs, case.targets, loss_mask=case.mask).run()
    flow = gradient_flow(trace, case.params, case.spec)
    T = case.inputs.shape[0]
    assert flow.shape == (T, T)
    np.testing.assert_array_equal(np.triu(flow, 1), 0.0)
    for t in range(T):
        for k in range(t + 1):
            h = np.array(trace.hs[k, 0])
            base = state_after(trace, k)
            fd = numerical_gradient(
                lambda k=k, t=t, h=h, base=base: step_loss_from(case, k, t, h, base), {"h": h}
            )
            assert flow[t, k] == pytest.approx(np.linalg.norm(fd["h"]), rel=1e-6, abs=1e-11), (t, k)


@pytest.mark.parametrize("cell", CELLS)
def test_jacobians_match_finite_differences_and_their_norms_the_svd(cell: str) -> None:
    case = make_case(cell, "real", "linear", "stateful", T=4, B=2)
    trace = Forward(case.params, case.spec, case.inputs, case.targets, h0=case.h0).run()
    J = jacobians_of(build_model(case.params, case.spec), trace.tape)  # what the norms come from
    H = case.spec.hidden_size
    for t in range(4):
        prev = case.h0 if t == 0 else state_after(trace, t - 1)
        numeric = np.zeros((H, H))
        eps = 1e-6
        for j in range(H):
            hs = []
            for sign in (1, -1):
                state = np.array(prev, dtype=float)
                state[0, j] += sign * eps
                f = Forward(
                    case.params,
                    case.spec,
                    case.inputs[t : t + 1],
                    case.targets[t : t + 1],
                    h0=state,
                )
                hs.append(f.step().h[0])
            numeric[:, j] = (hs[0] - hs[1]) / (2 * eps)
        np.testing.assert_allclose(J[t], numeric, rtol=1e-7, atol=1e-9)
    norms = jacobian_norms(trace, case.params, case.spec)
    np.testing.assert_allclose(norms, [np.linalg.norm(j, 2) for j in J], rtol=1e-10)
    backward = Backward(trace, case.params, case.spec)
    for record in [backward.step() for _ in range(4)]:
        assert record.jacobian_norm == pytest.approx(norms[record.t], rel=1e-12)


def linear_rnn(
    scale: float, T: int, H: int = 6
) -> tuple[ModelSpec, dict[str, np.ndarray], Forward]:
    """A linear RNN with W_hh = scale * Q, Q orthogonal, and a loss at every step."""
    rng = np.random.default_rng(7)
    spec = ModelSpec(activation="linear", input_size=4, hidden_size=H, output_size=4)
    params = init_params(spec, InitSpec(scheme="orthogonal", spectral_radius=scale), rng)
    inputs, targets = rng.integers(0, 4, (T, 1)), rng.integers(0, 4, (T, 1))
    return spec, params, Forward(params, spec, inputs, targets)


@pytest.mark.parametrize("scale", [0.8, 1.0, 1.25])
def test_linear_orthogonal_rnn_gradients_scale_as_s_to_the_distance(scale: float) -> None:
    T = 12
    spec, params, forward = linear_rnn(scale, T)
    flow = gradient_flow(forward.run(), params, spec)
    last = flow[T - 1]
    k = np.arange(T)
    np.testing.assert_allclose(last / last[T - 1], scale ** (T - 1 - k), rtol=1e-10)
    np.testing.assert_allclose(jacobian_norms(forward.trace, params, spec), scale, rtol=1e-10)


def test_tanh_rnn_with_sigma_below_one_has_geometrically_vanishing_gradients() -> None:
    rng = np.random.default_rng(11)
    H, T, sigma = 8, 30, 0.9
    spec = ModelSpec(input_size=5, hidden_size=H, output_size=5)
    params = init_params(spec, InitSpec(scale=0.3), rng)
    params["W_hh"] *= sigma / np.linalg.norm(params["W_hh"], 2)  # largest singular value 0.9
    s = spectrum(params["W_hh"], "tanh")
    assert s.largest_singular_value == pytest.approx(sigma) and s.vanishing_sufficient
    trace = Forward(params, spec, rng.integers(0, 5, (T, 1)), rng.integers(0, 5, (T, 1))).run()
    last = gradient_flow(trace, params, spec)[T - 1]
    distance = T - 1 - np.arange(T)
    assert np.all(last <= last[T - 1] * sigma**distance * (1 + 1e-12))  # Pascanu et al. bound
    assert np.all(np.diff(last) > 0)  # strictly shrinking as we go back
    assert last[0] < 1e-2 * last[T - 1]
    assert np.all(jacobian_norms(trace, params, spec) <= sigma + 1e-12)


def test_spectrum_of_a_known_matrix() -> None:
    W = np.array([[0.0, -2.0], [0.5, 0.0]])  # eigenvalues +-i, singular values 2 and 0.5
    s = spectrum(W, "tanh")
    np.testing.assert_allclose(s.singular_values, [2.0, 0.5])
    np.testing.assert_allclose(np.sort_complex(s.eigenvalues), [-1j, 1j])
    assert s.spectral_radius == pytest.approx(1.0)
    assert s.largest_singular_value == pytest.approx(2.0)
    assert s.gamma == 1.0 and not s.vanishing_sufficient and s.exploding_necessary
    sig = spectrum(W, "sigmoid")  # gamma 1/4: sigma_max 2 < 4 guarantees vanishing
    assert sig.gamma == 0.25 and sig.vanishing_sufficient and not sig.exploding_necessary
    assert spectrum(0.9 * orthogonal(5, np.random.default_rng(0)), "relu").vanishing_sufficient
    with pytest.raises(ValueError, match="activation"):
        spectrum(W, "swish")
    with pytest.raises(ValueError, match="square"):
        spectrum(np.zeros((2, 3)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_runs_are_reported_not_raised() -> None:
    case = make_case("rnn", "onehot", "softmax", activation="linear")
    case.params["W_hh"][0, 0] = np.inf  # as if a run had exploded
    trace = Forward(case.params, case.spec, case.inputs, case.targets).run()
    assert not np.isfinite(trace.total_loss)
    assert np.isnan(jacobian_norms(trace, case.params, case.spec)).all()
    backward = Backward(trace, case.params, case.spec)
    result = backward.run()
    assert not result.finite
    assert np.isnan(backward.steps[0].jacobian_norm)
    s = spectrum(case.params["W_hh"], "linear")
    assert not s.finite and np.isnan(s.largest_singular_value) and not s.vanishing_sufficient
