"""Encoder-decoder: gradients, step-by-step phases, teacher forcing and greedy decoding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.engine import (
    InitSpec,
    Seq2SeqBackward,
    Seq2SeqForward,
    Seq2SeqSpec,
    init_seq2seq_params,
    make_optimizer,
    seq2seq_decode,
    seq2seq_loss_and_grads,
)
from tests.engine.gradcheck import CELLS, assert_gradients_match, numerical_gradient, relative_error

SOS, EOS = 0, 1


def case(cell: str, source_kind: str, target_kind: str, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    spec = Seq2SeqSpec(
        cell=cell,
        source_kind=source_kind,
        source_size=4,
        target_kind=target_kind,
        target_size=5,
        embedding_size=3,
        hidden_size=3,
    )
    params = init_seq2seq_params(spec, InitSpec(scale=0.5), rng)
    Ts, Td, B = 4, 3, 2
    source = (
        rng.integers(0, 4, (Ts, B)) if source_kind != "real" else rng.standard_normal((Ts, B, 4))
    )
    target = rng.integers(2, 5, (Td, B))
    target[-1] = EOS
    lengths = np.array([4, 2])  # unequal source lengths, padded
    mask = np.ones((Td, B))
    target[1:, 1] = [EOS, 3]  # the second target is shorter: <EOS> then padding
    mask[2, 1] = 0.0
    return spec, params, source, target, lengths, mask


GRID = [
    (cell, s, t)
    for cell, s, t in itertools.product(
        CELLS, ("onehot", "embedding", "real"), ("onehot", "embedding")
    )
]


@pytest.mark.parametrize(("cell", "source_kind", "target_kind"), GRID)
def test_seq2seq_gradients_match_finite_differences(
    cell: str, source_kind: str, target_kind: str
) -> None:
    spec, params, source, target, lengths, mask = case(cell, source_kind, target_kind)

    def loss() -> float:
        return seq2seq_loss_and_grads(
            params, spec, source, target, source_lengths=lengths, target_mask=mask
        )[0]

    value, grads = seq2seq_loss_and_grads(
        params, spec, source, target, source_lengths=lengths, target_mask=mask
    )
    assert_gradients_match(grads, numerical_gradient(loss, params))
    forward = Seq2SeqForward(params, spec, source, target, source_lengths=lengths, target_mask=mask)
    trace = forward.run()
    assert trace.total_loss == pytest.approx(value, rel=1e-13)
    backward = Seq2SeqBackward(trace, params, spec)
    stepwise = backward.run().grads
    for name in grads:
        assert relative_error(stepwise[name], grads[name], floor=1e-12) < 1e-12, name


def test_phases_step_by_step() -> None:
    spec, params, source, target, lengths, _ = case("lstm", "onehot", "onehot")
    forward = Seq2SeqForward(params, spec, source, target, source_lengths=lengths)
    phases = []
    while not forward.done:
        phases.append(forward.phase)
        forward.step()
    assert phases == ["encoder"] * 4 + ["decoder"] * 3
    first = forward.decoder.steps[0] if forward.decoder else None
    assert first is not None
    np.testing.assert_array_equal(first.x, np.eye(5)[[SOS, SOS]])  # <SOS> starts the decoder
    np.testing.assert_array_equal(forward.trace.decoder.h0[0], forward.encoder.trace.hs[3, 0])
    np.testing.assert_array_equal(forward.trace.decoder.h0[1], forward.encoder.trace.hs[1, 1])
    with pytest.raises(RuntimeError, match="done"):
        forward.step()
    backward = Seq2SeqBackward(forward.trace, params, spec)
    order = []
    while not backward.done:
        order.append(backward.phase)
        backward.step()
    assert order == ["decoder"] * 3 + ["encoder"] * 4
    # the padded source steps of sequence 1 get no gradient
    pad = [s for s in backward.steps[3:] if s.t >= 2]
    assert all(np.all(s.dh[1] == 0.0) for s in pad)


def test_reversal_is_learned_and_decoded_free_running() -> None:
    rng = np.random.default_rng(0)
    spec = Seq2SeqSpec(cell="gru", source_size=3, target_size=5, hidden_size=16)
    params = init_seq2seq_params(spec, InitSpec(scale=0.3), rng)
    opt = make_optimizer("adam", 0.02)
    pairs = []
    for n in (2, 3):
        for seq in itertools.product(range(3), repeat=n):
            pairs.append((np.array(seq), np.array([s + 2 for s in reversed(seq)] + [EOS])))
    for _ in range(300):
        for n in (2, 3):
            batch = [p for p in pairs if len(p[0]) == n]
            src = np.stack([p[0] for p in batch], axis=1)
            tgt = np.stack([p[1] for p in batch], axis=1)
            _, grads = seq2seq_loss_and_grads(params, spec, src, tgt)
            opt.update(params, grads)
    correct = sum(seq2seq_decode(params, spec, s, max_length=6) == list(t) for s, t in pairs)
    assert correct == len(pairs)


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="target_kind"):
        Seq2SeqSpec(source_size=3, target_size=4, hidden_size=2, target_kind="real")
    with pytest.raises(ValueError, match="eos"):
        Seq2SeqSpec(source_size=3, target_size=4, hidden_size=2, eos=4)
    with pytest.raises(ValueError, match="different"):
        Seq2SeqSpec(source_size=3, target_size=4, hidden_size=2, sos=1, eos=1)
