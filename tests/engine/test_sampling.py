"""Sampling: greedy, temperature, top-k and seeded reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import InitSpec, ModelSpec, choose, generate, init_params, sample
from app.engine.heads import softmax


def model(cell: str = "rnn") -> tuple[ModelSpec, dict[str, np.ndarray]]:
    spec = ModelSpec(cell=cell, input_size=6, hidden_size=5, output_size=6)
    return spec, init_params(spec, InitSpec(scale=0.8), np.random.default_rng(0))


def test_temperature_draws_follow_softmax_of_scaled_logits() -> None:
    logits = np.array([1.0, 0.0, -1.0, 2.0])
    rng = np.random.default_rng(1)
    n = 20000
    for temperature in (0.5, 1.0, 2.0):
        counts = np.bincount(
            [choose(logits, rng, temperature=temperature)[0] for _ in range(n)], minlength=4
        )
        p = softmax(logits / temperature)
        np.testing.assert_allclose(counts / n, p, atol=4 * np.sqrt(p * (1 - p) / n).max())
    assert choose(logits, None, greedy=True)[0] == 3
    with pytest.raises(ValueError, match="temperature"):
        choose(logits, rng, temperature=0.0)


def test_top_k_keeps_only_the_k_most_likely() -> None:
    logits = np.array([3.0, 2.9, -5.0, 2.8, 0.0])
    rng = np.random.default_rng(2)
    draws = {choose(logits, rng, top_k=2)[0] for _ in range(500)}
    assert draws == {0, 1}
    _, p = choose(logits, rng, top_k=2)
    assert p[2] == p[3] == p[4] == 0.0 and p.sum() == pytest.approx(1.0)
    assert {choose(logits, rng, top_k=1)[0] for _ in range(50)} == {0}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_same_seed_same_sample_and_greedy_is_the_argmax_chain(cell: str) -> None:
    spec, params = model(cell)
    a = sample(params, spec, None, 2, 30, np.random.default_rng(9))
    b = sample(params, spec, None, 2, 30, np.random.default_rng(9))
    assert a == b and len(a) == 30 and all(0 <= t < 6 for t in a)
    out = generate(params, spec, None, 2, 8, None, greedy=True)
    np.testing.assert_array_equal(np.argmax(out.probs, axis=1), out.tokens)
    assert out.state.shape == (1, spec.state_size)
    stopped = generate(params, spec, None, 2, 8, None, greedy=True, stop_token=out.tokens[2])
    assert stopped.tokens == out.tokens[: stopped.tokens.index(out.tokens[2]) + 1]
