"""BPTT gradients against finite differences, for every cell, input, head and architecture."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.engine import Backward, Forward, Sequences, loss_and_grads
from app.engine.heads import head_forward
from tests.engine.gradcheck import (
    CELLS,
    HEADS,
    INPUT_KINDS,
    Case,
    assert_gradients_match,
    make_case,
    numerical_gradient,
    relative_error,
    state_after,
    truncated_objective,
)


def fast(case: Case, truncation: int | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """loss_and_grads on a case."""
    data = Sequences(case.inputs, case.targets, case.mask)
    loss, grads, _ = loss_and_grads(case.params, case.spec, data, h0=case.h0, truncation=truncation)
    return loss, grads


def stepwise(case: Case, truncation: int | None = None) -> Backward:
    """A finished step-by-step Backward on a case."""
    trace = Forward(
        case.params, case.spec, case.inputs, case.targets, h0=case.h0, loss_mask=case.mask
    ).run()
    backward = Backward(trace, case.params, case.spec, truncation=truncation)
    backward.run()
    return backward


def assert_same_grads(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    """Two analytic gradient computations agree to rounding."""
    assert list(a) == list(b)
    for name in a:
        assert relative_error(a[name], b[name], floor=1e-12) < 1e-12, name


FULL = list(
    itertools.product(CELLS, INPUT_KINDS, HEADS, ["many_to_many", "many_to_one", "stateful"])
)
ONE_TO_MANY = [
    (cell, kind, head)
    for cell in CELLS
    for kind, head in [("onehot", "softmax"), ("embedding", "softmax"), ("real", "linear")]
]


@pytest.mark.parametrize(("cell", "input_kind", "head", "arch"), FULL)
def test_full_bptt_matches_finite_differences(
    cell: str, input_kind: str, head: str, arch: str
) -> None:
    case = make_case(cell, input_kind, head, arch)
    loss, grads = fast(case)
    numeric = numerical_gradient(lambda: fast(case)[0], case.params)
    assert_gradients_match(grads, numeric)
    backward = stepwise(case)
    assert_same_grads(backward.gradients.grads, grads)
    assert backward.trace.total_loss == pytest.approx(loss, rel=1e-13)


@pytest.mark.parametrize(("cell", "input_kind", "head"), ONE_TO_MANY)
def test_one_to_many_teacher_forcing_matches_finite_differences(
    cell: str, input_kind: str, head: str
) -> None:
    case = make_case(cell, input_kind, head, "one_to_many")
    _, grads = fast(case)
    assert_gradients_match(grads, numerical_gradient(lambda: fast(case)[0], case.params))


@pytest.mark.parametrize(
    ("cell", "input_kind", "head"), list(itertools.product(CELLS, INPUT_KINDS, HEADS))
)
def test_truncated_bptt_matches_finite_differences_of_windowed_losses(
    cell: str, input_kind: str, head: str
) -> None:
    case = make_case(cell, input_kind, head, "masked", T=4, B=2)
    k = 2
    _, grads = fast(case, truncation=k)
    assert_gradients_match(grads, numerical_gradient(truncated_objective(case, k), case.params))
    assert_same_grads(stepwise(case, truncation=k).gradients.grads, grads)


@pytest.mark.parametrize("cell", CELLS)
def test_truncation_of_one_step_and_of_at_least_T_steps(cell: str) -> None:
    case = make_case(cell, "onehot", "softmax", "stateful", T=4)
    _, one = fast(case, truncation=1)
    assert_gradients_match(one, numerical_gradient(truncated_objective(case, 1), case.params))
    _, full = fast(case)
    _, long = fast(case, truncation=4)
    assert_same_grads(long, full)
    recurrent = "W_hi" if cell == "lstm" else "W_hh"
    assert relative_error(one[recurrent], full[recurrent]) > 1e-3  # truncation does cut paths


def total_loss_from(case: Case, t: int, h_t: np.ndarray, base_state: np.ndarray) -> float:
    """L_t + L_{t+1} + ... as a function of h_t alone (c_t, earlier losses fixed)."""
    spec, params, B = case.spec, case.params, case.inputs.shape[1]
    logits = h_t @ params["W_hy"].T + params["b_y"]
    mask = None if case.mask is None else case.mask[t]
    _, losses = head_forward(spec.head, logits, case.targets[t], mask)
    total = float(losses.sum()) / B
    if t + 1 < case.inputs.shape[0]:
        state = base_state.copy()
        state[:, : spec.hidden_size] = h_t
        later = case.mask[t + 1 :] if case.mask is not None else None
        total += (
            Forward(
                params, spec, case.inputs[t + 1 :], case.targets[t + 1 :], h0=state, loss_mask=later
            )
            .run()
            .total_loss
        )
    return total


@pytest.mark.parametrize("cell", CELLS)
def test_each_steps_dh_is_the_total_losss_gradient_wrt_h_t(cell: str) -> None:
    case = make_case(cell, "real", "softmax", "many_to_one", T=4)
    trace = Forward(
        case.params, case.spec, case.inputs, case.targets, h0=case.h0, loss_mask=case.mask
    ).run()
    backward = Backward(trace, case.params, case.spec)
    records = [backward.step() for _ in range(4)]
    assert [r.t for r in records] == [3, 2, 1, 0]
    for r in records:
        h = np.array(trace.hs[r.t])
        numeric = numerical_gradient(
            lambda r=r, h=h: total_loss_from(case, r.t, h, state_after(trace, r.t)), {"h": h}
        )["h"]
        assert relative_error(np.array(r.dh), numeric) < 1e-6
        assert r.dh_norm == pytest.approx(float(np.linalg.norm(numeric)), rel=1e-6)


def test_step_snapshots_accumulate_and_do_not_change_later() -> None:
    case = make_case("gru", "onehot", "softmax")
    trace = Forward(case.params, case.spec, case.inputs, case.targets).run()
    backward = Backward(trace, case.params, case.spec)
    first = backward.step()
    frozen = {name: g.copy() for name, g in first.grads.items()}
    rest = [backward.step() for _ in range(trace.hs.shape[0] - 1)]
    for name in frozen:
        np.testing.assert_array_equal(first.grads[name], frozen[name])
    assert backward.done and backward.t == -1
    for name, g in backward.gradients.grads.items():
        np.testing.assert_array_equal(rest[-1].grads[name], g)
    assert not rest[-1].dh.flags.writeable
    with pytest.raises(RuntimeError, match="done"):
        backward.step()
    grads = backward.gradients
    assert grads.finite
    assert grads.global_norm == pytest.approx(np.sqrt(sum(v**2 for v in grads.norms.values())))


def test_backward_before_done_and_mismatched_spec_are_refused() -> None:
    case = make_case("rnn", "onehot", "softmax")
    forward = Forward(case.params, case.spec, case.inputs, case.targets)
    forward.step()
    with pytest.raises(RuntimeError, match="not done"):
        _ = forward.trace
    trace = forward.run()
    backward = Backward(trace, case.params, case.spec)
    with pytest.raises(RuntimeError, match="not done"):
        _ = backward.gradients
    other = make_case("rnn", "onehot", "linear")
    with pytest.raises(ValueError, match="different ModelSpec"):
        Backward(trace, case.params, other.spec)


def test_float32_gradients_agree_with_float64() -> None:
    case = make_case("lstm", "embedding", "softmax", "masked")
    _, g64 = fast(case)
    spec32 = type(case.spec)(**{**case.spec.__dict__, "dtype": "float32"})
    params32 = {name: p.astype(np.float32) for name, p in case.params.items()}
    data = Sequences(case.inputs, case.targets, case.mask)
    _, g32, h32 = loss_and_grads(params32, spec32, data)
    assert h32.dtype == np.float32
    for name in g64:
        assert g32[name].dtype == np.float32
        assert relative_error(g32[name].astype(np.float64), g64[name]) < 1e-4, name
