"""Training: clipping, the 'hello' toy and a min-char-rnn run on a generated corpus."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import (
    InitSpec,
    ModelSpec,
    NonFiniteError,
    Sequences,
    clip_gradients,
    global_norm,
    init_params,
    loss_and_grads,
    make_optimizer,
    sample,
)


def grads_of(values: dict[str, list[float]]) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in values.items()}


def test_norm_clipping_rescales_to_the_threshold_and_reports() -> None:
    g = grads_of({"a": [3.0, 0.0], "b": [4.0]})
    result = clip_gradients(g, "norm", 1.0)
    assert result.clipped and result.norm_before == 5.0 and result.finite
    assert global_norm(result.grads) == pytest.approx(1.0)
    np.testing.assert_allclose(result.grads["a"], [0.6, 0.0])  # direction kept
    np.testing.assert_array_equal(g["a"], [3.0, 0.0])  # the input is not modified
    untouched = clip_gradients(g, "norm", 10.0)
    assert not untouched.clipped and untouched.norm_before == 5.0
    np.testing.assert_array_equal(untouched.grads["b"], [4.0])


def test_value_clipping_is_min_char_rnns() -> None:
    g = grads_of({"a": [7.0, -9.0, 1.0], "b": [0.5]})
    result = clip_gradients(g, "value", 5.0)
    assert result.clipped and result.norm_before == pytest.approx(np.sqrt(49 + 81 + 1 + 0.25))
    np.testing.assert_array_equal(result.grads["a"], [5.0, -5.0, 1.0])
    assert not clip_gradients(g, "value", 10.0).clipped
    none = clip_gradients(g, "none", 0.0)
    assert not none.clipped and none.norm_before == result.norm_before


def test_non_finite_gradients_are_reported_and_never_applied() -> None:
    g = grads_of({"a": [np.inf, 1.0], "b": [np.nan]})
    for mode in ("norm", "value"):
        result = clip_gradients(g, mode, 5.0)
        assert not result.finite and not result.clipped
        assert np.isinf(result.grads["a"][0])  # not silently clipped to 5
    params = grads_of({"a": [1.0, 2.0], "b": [3.0]})
    before = {k: v.copy() for k, v in params.items()}
    for name in ("sgd", "momentum", "adagrad", "rmsprop", "adam"):
        with pytest.raises(NonFiniteError, match="a, b"):
            make_optimizer(name, 0.1).update(params, g)
        for k in params:
            np.testing.assert_array_equal(params[k], before[k])


def test_clipping_bounds_the_update_of_an_exploding_rnn() -> None:
    rng = np.random.default_rng(5)
    spec = ModelSpec(activation="linear", input_size=4, hidden_size=8, output_size=4)
    params = init_params(spec, InitSpec(scheme="orthogonal", spectral_radius=1.5), rng)
    x, y = rng.integers(0, 4, (30, 2)), rng.integers(0, 4, (30, 2))
    _, grads, _ = loss_and_grads(params, spec, Sequences(x, y))
    threshold, lr = 1.0, 0.1
    result = clip_gradients(grads, "norm", threshold)
    assert result.clipped and result.norm_before > 1e3  # 1.5^29: exploding (Pascanu et al.)
    before = {k: v.copy() for k, v in params.items()}
    make_optimizer("sgd", lr).update(params, result.grads)
    step = global_norm({k: params[k] - before[k] for k in params})
    assert step == pytest.approx(lr * threshold, rel=1e-9)


HELLO = "helo"


@pytest.mark.parametrize(("cell", "hidden"), [("rnn", 3), ("rnn", 16), ("lstm", 8), ("gru", 8)])
def test_hello_is_learned(cell: str, hidden: int) -> None:
    ix = {c: i for i, c in enumerate(HELLO)}
    x = np.array([[ix[c]] for c in "hell"])
    y = np.array([[ix[c]] for c in "ello"])
    spec = ModelSpec(cell=cell, input_size=4, hidden_size=hidden, output_size=4)
    params = init_params(spec, InitSpec(scale=0.5), np.random.default_rng(0))
    opt = make_optimizer("adam", 0.05)
    first, _, _ = loss_and_grads(params, spec, Sequences(x, y))
    for _ in range(400):
        loss, grads, _ = loss_and_grads(params, spec, Sequences(x, y))
        opt.update(params, grads)
    assert first > 4.0 and loss < 0.05  # 4 ln 4 = 5.5 at chance
    assert sample(params, spec, None, ix["h"], 4, np.random.default_rng(0), greedy=True) == [
        ix[c] for c in "ello"
    ]


PROVERBS = [
    "the quick brown fox jumps over the lazy dog",
    "a stitch in time saves nine",
    "all that glitters is not gold",
    "the early bird catches the worm",
    "where there is a will there is a way",
    "actions speak louder than words",
    "better late than never",
    "look before you leap",
]


def corpus(n_chars: int, seed: int = 0) -> str:
    """English-like text: proverbs in a seeded random order, no data files needed."""
    rng = np.random.default_rng(seed)
    parts: list[str] = []
    while sum(map(len, parts)) < n_chars:
        parts.append(PROVERBS[rng.integers(len(PROVERBS))] + ". ")
    return "".join(parts)[:n_chars]


def test_min_char_rnn_settings_cut_the_smoothed_loss_by_a_quarter() -> None:
    text = corpus(4000)
    chars = sorted(set(text))
    V, seq, ix = len(chars), 25, {c: i for i, c in enumerate(chars)}
    data = np.array([ix[c] for c in text])
    spec = ModelSpec(input_size=V, hidden_size=100, output_size=V)
    params = init_params(spec, InitSpec(scale=0.01), np.random.default_rng(0))  # randn * 0.01
    opt = make_optimizer("adagrad", 0.1)
    start = smooth = -np.log(1.0 / V) * seq  # loss at iteration 0
    h, p = None, 0
    for _ in range(2000):
        if p + seq + 1 > len(data):
            h, p = None, 0  # go from the start of data, reset the memory
        x, y = data[p : p + seq, None], data[p + 1 : p + seq + 1, None]
        loss, grads, h = loss_and_grads(params, spec, Sequences(x, y), h0=h)
        clipped = clip_gradients(grads, "value", 5.0)  # mitigate exploding gradients
        opt.update(params, clipped.grads)
        smooth = smooth * 0.999 + loss * 0.001
        p += seq
    assert smooth < 0.75 * start


def test_same_seed_same_training_run_bit_for_bit() -> None:
    def train(seed: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        spec = ModelSpec(cell="gru", input_size=5, hidden_size=6, output_size=5)
        params = init_params(spec, InitSpec(scheme="orthogonal", spectral_radius=1.1), rng)
        opt = make_optimizer("rmsprop", 0.01)
        h = None
        for _ in range(20):
            x, y = rng.integers(0, 5, (7, 2)), rng.integers(0, 5, (7, 2))
            _, grads, h = loss_and_grads(params, spec, Sequences(x, y), h0=h, truncation=3)
            opt.update(params, clip_gradients(grads, "norm", 1.0).grads)
        return params

    a, b, c = train(1), train(1), train(2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)
