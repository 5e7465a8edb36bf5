"""The step-by-step forward pass against a direct float64 evaluation of the equations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.engine import Forward, InitSpec, ModelSpec, Sequences, init_params, loss_and_grads
from tests.engine.gradcheck import CELLS, HEADS, INPUT_KINDS, Case, make_case


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


F = {
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "sigmoid": _sigmoid,
    "linear": lambda a: a,
}


def reference(case: Case) -> dict[str, np.ndarray]:
    """One sequence at a time, column vectors, one-hot vectors multiplied: min-char-rnn style."""
    spec, P = case.spec, case.params
    T, B = case.inputs.shape[:2]
    H = spec.hidden_size
    hs, cs, ys, losses = (np.zeros((T, B, H)), np.zeros((T, B, H)), [], np.zeros((T, B)))
    out = np.zeros((T, B, spec.output_size))
    gates: dict[str, np.ndarray] = {}  # name -> (T, B, H)
    terms: dict[str, np.ndarray] = {}  # block label -> (T, B, 3, H): W_x x_t, W_h h, b
    for b in range(B):
        h = np.zeros((H, 1)) if case.h0 is None else case.h0[b, :H].reshape(H, 1)
        c = (
            np.zeros((H, 1))
            if case.h0 is None or spec.cell != "lstm"
            else case.h0[b, H:].reshape(H, 1)
        )
        for t in range(T):
            if spec.input_kind == "onehot":
                x = np.zeros((spec.input_size, 1))
                x[case.inputs[t, b]] = 1.0
            elif spec.input_kind == "embedding":
                x = P["E"][case.inputs[t, b]].reshape(-1, 1)
            else:
                x = case.inputs[t, b].reshape(-1, 1)

            def pre(
                k: str, hh: np.ndarray, x: np.ndarray = x, t: int = t, b: int = b, label: str = ""
            ) -> np.ndarray:
                parts = [P[f"W_x{k}"] @ x, P[f"W_h{k}"] @ hh, P[f"b_{k}"].reshape(-1, 1)]
                terms.setdefault(label or k, np.zeros((T, B, 3, H)))[t, b] = np.hstack(parts).T
                return parts[0] + parts[1] + parts[2]

            def keep(t: int = t, b: int = b, **values: np.ndarray) -> None:
                for name, v in values.items():
                    gates.setdefault(name, np.zeros((T, B, H)))[t, b] = v[:, 0]

            if spec.cell == "rnn":
                h = F[spec.activation](pre("h", h))
            elif spec.cell == "lstm":
                i, f, o = _sigmoid(pre("i", h)), _sigmoid(pre("f", h)), _sigmoid(pre("o", h))
                g = np.tanh(pre("g", h))
                c = f * c + i * g
                h = o * np.tanh(c)
                keep(i=i, f=f, o=o, g=g, c=c)
            elif spec.cell == "gru":  # Cho et al. (2014): the reset before W_hh
                z, r = _sigmoid(pre("z", h)), _sigmoid(pre("r", h))
                n = np.tanh(pre("h", r * h, label="h_tilde"))
                h = z * h + (1 - z) * n
                keep(z=z, r=r, h_tilde=n)
            else:  # torch.nn.GRU: the reset after W_hh, with its own bias b_hh inside
                z, r = _sigmoid(pre("z", h)), _sigmoid(pre("r", h))
                u = P["W_hh"] @ h + P["b_hh"].reshape(-1, 1)
                parts = [P["W_xh"] @ x, r * u, P["b_h"].reshape(-1, 1)]
                terms.setdefault("h_tilde", np.zeros((T, B, 3, H)))[t, b] = np.hstack(parts).T
                n = np.tanh(parts[0] + parts[1] + parts[2])
                h = (1 - z) * n + z * h
                keep(z=z, r=r, h_tilde=n)
            y = P["W_hy"] @ h + P["b_y"].reshape(-1, 1)
            if spec.head == "softmax":
                p = np.exp(y) / np.sum(np.exp(y))
                loss = -np.log(p[case.targets[t, b], 0])
                y = p
            else:
                loss = 0.5 * float(np.sum((y[:, 0] - case.targets[t, b]) ** 2))
            hs[t, b], cs[t, b], out[t, b] = h[:, 0], c[:, 0], y[:, 0]
            losses[t, b] = loss * (1.0 if case.mask is None else case.mask[t, b])
    del ys
    return {"hs": hs, "cs": cs, "ys": out, "losses": losses, "gates": gates, "terms": terms}


GRID = [
    *[("rnn", act, "onehot", "softmax") for act in ("tanh", "relu", "sigmoid", "linear")],
    *[
        (cell, "tanh", kind, head)
        for cell, kind, head in itertools.product(CELLS, INPUT_KINDS, HEADS)
    ],
]


@pytest.mark.parametrize(("cell", "activation", "input_kind", "head"), GRID)
def test_forward_matches_direct_float64_evaluation(
    cell: str, activation: str, input_kind: str, head: str
) -> None:
    case = make_case(cell, input_kind, head, "stateful", activation=activation)
    ref = reference(case)
    trace = Forward(case.params, case.spec, case.inputs, case.targets, h0=case.h0).run()
    np.testing.assert_allclose(trace.hs, ref["hs"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trace.ys, ref["ys"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trace.losses, ref["losses"], rtol=1e-12)
    B = case.inputs.shape[1]
    np.testing.assert_allclose(trace.step_losses, ref["losses"].sum(axis=1) / B, rtol=1e-12)
    assert trace.total_loss == pytest.approx(ref["losses"].sum() / B, rel=1e-12)
    if cell == "lstm":
        np.testing.assert_allclose(trace.gates["c"], ref["cs"], rtol=1e-12, atol=1e-14)
    data = Sequences(case.inputs, case.targets)
    fast_loss, _, state = loss_and_grads(case.params, case.spec, data, h0=case.h0)
    assert fast_loss == pytest.approx(trace.total_loss, rel=1e-13)
    np.testing.assert_allclose(state, trace.state, rtol=1e-13)


@pytest.mark.parametrize(("cell", "input_kind"), list(itertools.product(CELLS, INPUT_KINDS)))
def test_gates_and_pre_activation_terms_match_the_equations(cell: str, input_kind: str) -> None:
    case = make_case(cell, input_kind, "softmax", "stateful")
    ref = reference(case)
    forward = Forward(case.params, case.spec, case.inputs, case.targets, h0=case.h0)
    candidate = {"rnn": "h", "lstm": "g", "gru": "h_tilde", "gru_torch": "h_tilde"}[cell]
    for step in (forward.step() for _ in range(case.inputs.shape[0])):
        assert set(step.gates) == set(ref["gates"])
        for name, value in step.gates.items():
            np.testing.assert_allclose(value, ref["gates"][name][step.t], rtol=1e-12, atol=1e-14)
        for b in range(case.inputs.shape[1]):
            terms = step.terms(b)  # (3, H): W_x x_t, W_h h_{t-1}, b
            expected = ref["terms"][candidate][step.t, b]
            np.testing.assert_allclose(terms, expected, rtol=1e-12, atol=1e-13)
            # the three terms add up to the pre-activation the cell used
            np.testing.assert_allclose(terms.sum(axis=0), step.a[b], rtol=1e-12, atol=1e-13)


def test_steps_record_every_value_as_they_go() -> None:
    case = make_case("lstm", "onehot", "softmax", "many_to_one")
    forward = Forward(case.params, case.spec, case.inputs, case.targets, loss_mask=case.mask)
    assert forward.t == 0 and not forward.done
    first = forward.step()
    assert forward.t == 1 and forward.total_loss == first.loss
    np.testing.assert_array_equal(first.x, np.eye(case.spec.input_size)[case.inputs[0]])
    np.testing.assert_array_equal(first.h_prev, 0.0)
    assert set(first.gates) == {"i", "f", "o", "g", "c"}
    np.testing.assert_allclose(first.h, first.gates["o"] * np.tanh(first.gates["c"]))
    assert first.loss == pytest.approx(first.losses.sum() / case.inputs.shape[1])
    assert not first.h.flags.writeable and not first.gates["c"].flags.writeable
    trace = forward.run()
    assert forward.done and len(forward.steps) == case.inputs.shape[0]
    for s in forward.steps:
        np.testing.assert_array_equal(s.h, trace.hs[s.t])
        np.testing.assert_array_equal(s.y, trace.ys[s.t])
        np.testing.assert_array_equal(s.a, trace.a[s.t])
    np.testing.assert_array_equal(trace.losses, trace.losses * case.mask)  # masked steps cost 0
    with pytest.raises(RuntimeError, match="done"):
        forward.step()


@pytest.mark.parametrize(("cell", "names"), [("rnn", set()), ("gru", {"z", "r", "h_tilde"})])
def test_gates_and_inputs_per_cell(cell: str, names: set[str]) -> None:
    case = make_case(cell, "embedding", "linear")
    step = Forward(case.params, case.spec, case.inputs, case.targets).step()
    assert set(step.gates) == names
    np.testing.assert_array_equal(step.x, case.params["E"][case.inputs[0]])


@pytest.mark.parametrize("cell", CELLS)
def test_carrying_the_state_across_chunks_equals_one_long_sequence(cell: str) -> None:
    case = make_case(cell, "onehot", "softmax", T=8)
    whole = Forward(case.params, case.spec, case.inputs, case.targets).run()
    first = Sequences(case.inputs[:5], case.targets[:5])
    loss1, _, carried = loss_and_grads(case.params, case.spec, first)
    second = Forward(case.params, case.spec, case.inputs[5:], case.targets[5:], h0=carried).run()
    np.testing.assert_allclose(second.hs, whole.hs[5:], rtol=1e-13)
    assert loss1 + second.total_loss == pytest.approx(whole.total_loss, rel=1e-13)
    assert carried.shape == (case.inputs.shape[1], case.spec.state_size)


@pytest.mark.parametrize("cell", CELLS)
def test_padding_changes_nothing_in_many_to_one(cell: str) -> None:
    rng = np.random.default_rng(3)
    spec = ModelSpec(cell=cell, input_size=6, hidden_size=5, output_size=2)
    params = init_params(spec, InitSpec(scale=0.5), rng)
    lengths = [3, 6, 1]
    T = max(lengths)
    inputs = rng.integers(0, 6, (T, 3))
    labels = rng.integers(0, 2, 3)
    targets = np.full((T, 3), -1)  # padding may hold anything where the mask is 0
    mask = np.zeros((T, 3))
    for b, n in enumerate(lengths):
        targets[n - 1, b], mask[n - 1, b] = labels[b], 1.0
    loss, grads, _ = loss_and_grads(params, spec, Sequences(inputs, targets, mask))
    scrambled = inputs.copy()
    for b, n in enumerate(lengths):
        scrambled[n:, b] = rng.integers(0, 6, T - n)
    loss2, grads2, _ = loss_and_grads(params, spec, Sequences(scrambled, targets, mask))
    assert loss2 == loss
    for name in grads:
        np.testing.assert_array_equal(grads2[name], grads[name])
    # one sequence at a time, unpadded: the batch is their mean (loss_t is divided by B)
    singles = [
        loss_and_grads(
            params,
            spec,
            Sequences(inputs[:n, b : b + 1], np.full((n, 1), labels[b]), np.eye(n)[-1][:, None]),
        )
        for b, n in enumerate(lengths)
    ]
    assert loss == pytest.approx(sum(s[0] for s in singles) / 3, rel=1e-13)
    for name in grads:
        np.testing.assert_allclose(grads[name], sum(s[1][name] for s in singles) / 3, atol=1e-15)


def test_log_softmax_is_stable_for_huge_logits() -> None:
    spec = ModelSpec(input_size=3, hidden_size=2, output_size=3)
    params = init_params(spec, InitSpec(), np.random.default_rng(0))
    params["b_y"][:] = [1e4, -1e4, 0.0]
    data = Sequences(np.zeros((2, 1), int), np.ones((2, 1), int))
    loss, grads, _ = loss_and_grads(params, spec, data)
    assert loss == pytest.approx(2 * 2e4, rel=1e-6)  # -log p = 2e4 up to W_hy h
    assert all(np.isfinite(g).all() for g in grads.values())


@pytest.mark.parametrize(
    ("inputs", "targets", "kwargs", "message"),
    [
        (np.zeros((3, 2)), np.zeros((3, 2), int), {}, "inputs must be a \\(T, B\\) integer"),
        (np.full((3, 2), 7), np.zeros((3, 2), int), {}, "inputs must lie in"),
        (np.zeros((3, 2), int), np.full((3, 2), 4), {}, "targets must lie in"),
        (np.zeros((3, 2), int), np.zeros((3, 1), int), {}, "targets must have shape"),
        (np.zeros((3, 2), int), np.zeros((3, 2), int), {"loss_mask": np.ones((2, 3))}, "loss_mask"),
        (np.zeros((3, 2), int), np.zeros((3, 2), int), {"h0": np.zeros((3, 4))}, "h0 must have"),
        (np.zeros((0, 2), int), np.zeros((0, 2), int), {}, "at least one step"),
    ],
)
def test_bad_batches_are_refused_with_a_clear_error(
    inputs: np.ndarray, targets: np.ndarray, kwargs: dict[str, np.ndarray], message: str
) -> None:
    spec = ModelSpec(input_size=5, hidden_size=4, output_size=4)
    params = init_params(spec, InitSpec(), np.random.default_rng(0))
    with pytest.raises(ValueError, match=message):
        Forward(params, spec, inputs, targets, **kwargs)


def test_params_must_match_the_spec() -> None:
    spec = ModelSpec(input_size=5, hidden_size=4, output_size=4)
    params = init_params(spec, InitSpec(), np.random.default_rng(0))
    x, y = np.zeros((2, 1), int), np.zeros((2, 1), int)
    with pytest.raises(ValueError, match="W_hh"):
        Forward({k: v for k, v in params.items() if k != "W_hh"}, spec, x, y)
    with pytest.raises(ValueError, match="W_xh"):
        Forward({**params, "W_xh": np.zeros((4, 3))}, spec, x, y)
    with pytest.raises(ValueError, match="float64"):
        Forward({**params, "b_h": params["b_h"].astype(np.float32)}, spec, x, y)
