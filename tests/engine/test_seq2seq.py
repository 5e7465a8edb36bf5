"""Encoder-decoder: gradients, step-by-step phases, teacher forcing and greedy decoding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.engine import (
    EncoderDecoder,
    InitSpec,
    Seq2SeqSpec,
    Sequences,
    init_seq2seq_params,
    make_optimizer,
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
    net, data = EncoderDecoder(spec), Sequences(source, target, mask, lengths)

    def loss() -> float:
        return net.loss_and_grads(params, data, None, None)[0]

    value, grads, carried = net.loss_and_grads(params, data, None, None)
    assert carried is None
    assert_gradients_match(grads, numerical_gradient(loss, params))
    forward = net.forward(params, data)
    forward.finish()
    assert forward.total_loss == pytest.approx(value, rel=1e-13)
    stepwise = forward.backward().run().grads
    for name in grads:
        assert relative_error(stepwise[name], grads[name], floor=1e-12) < 1e-12, name


def test_phases_step_by_step() -> None:
    spec, params, source, target, lengths, _ = case("lstm", "onehot", "onehot")
    forward = EncoderDecoder(spec).forward(params, Sequences(source, target, None, lengths))
    phases = []
    while not forward.done:
        phases.append(forward.phase)
        forward.step()
    assert phases == ["encoder"] * 4 + ["decoder"] * 3
    assert [s.t for s in forward.steps] == list(range(7))  # numbered across both halves
    assert forward.decoder is not None
    first = forward.decoder.steps[0]
    np.testing.assert_array_equal(first.x, np.eye(5)[[SOS, SOS]])  # <SOS> starts the decoder
    decoder_h0, encoder_hs = forward.decoder.trace.h0, forward.encoder.trace.hs
    np.testing.assert_array_equal(decoder_h0[0], encoder_hs[3, 0])  # the context vector
    np.testing.assert_array_equal(decoder_h0[1], encoder_hs[1, 1])  # after the real steps only
    assert forward.carried is None and forward.gradient_flow() is None
    with pytest.raises(RuntimeError, match="done"):
        forward.step()
    with pytest.raises(ValueError, match="single network"):
        forward.measure()
    backward = forward.backward()
    order = []
    while not backward.done:
        order.append(backward.phase)
        backward.step()
    assert order == ["decoder"] * 3 + ["encoder"] * 4
    assert [s.t for s in backward.steps] == [6, 5, 4, 3, 2, 1, 0]  # from the last step back
    # the padded source steps of sequence 1 get no gradient
    pad = [s for s in backward.steps[3:] if s.t >= 2]
    assert len(pad) == 2 and all(np.all(s.dh[1] == 0.0) for s in pad)


def test_reversal_is_learned_and_decoded_free_running() -> None:
    rng = np.random.default_rng(0)
    spec = Seq2SeqSpec(cell="gru", source_size=3, target_size=5, hidden_size=16)
    params = init_seq2seq_params(spec, InitSpec(scale=0.3), rng)
    net = EncoderDecoder(spec)
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
            _, grads, _ = net.loss_and_grads(params, Sequences(src, tgt), None, None)
            opt.update(params, grads)
    correct = sum(net.decode(params, s, max_length=6) == list(t) for s, t in pairs)
    assert correct == len(pairs)
    long = [(s, t) for s, t in pairs if len(s) == 3]
    data = Sequences(np.stack([s for s, _ in long], axis=1), np.stack([t for _, t in long], axis=1))
    assert net.decoding_metrics(params, data) == {"exact_match": 1.0}


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="target_kind"):
        Seq2SeqSpec(source_size=3, target_size=4, hidden_size=2, target_kind="real")
    with pytest.raises(ValueError, match="eos"):
        Seq2SeqSpec(source_size=3, target_size=4, hidden_size=2, eos=4)
    with pytest.raises(ValueError, match="different"):
        Seq2SeqSpec(source_size=3, target_size=4, hidden_size=2, sos=1, eos=1)
