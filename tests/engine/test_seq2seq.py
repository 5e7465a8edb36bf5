"""Encoder-decoder: gradients, step-by-step phases, teacher forcing and greedy decoding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.engine import (
    EncoderDecoder,
    Forward,
    InitSpec,
    Seq2SeqSpec,
    Sequences,
    decoder_inputs,
    gradient_flow,
    init_seq2seq_params,
    make_optimizer,
    split_params,
)
from app.engine.unroll import carry
from tests.engine.gradcheck import (
    CELLS,
    assert_gradients_match,
    numerical_gradient,
    relative_error,
    state_after,
)

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
    assert forward.carried is None
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


def decoder_losses_from(
    spec: Seq2SeqSpec, params: dict[str, np.ndarray], data: Sequences, k: int, state: np.ndarray
) -> np.ndarray:
    """The decoder's step losses (T_dec,) when element 0's encoder state after step k is `state`
    (the other elements as in the base run)."""
    enc_p, dec_p = split_params(params)
    source, last = np.asarray(data.inputs), int(data.source_lengths[0]) - 1
    base = EncoderDecoder(spec).forward(params, data)
    base.finish()
    assert base.decoder is not None
    context = carry(base.decoder.trace.tape, 0)  # [h, c] for an LSTM
    if last - k:  # carry on through the source up to its last real word
        rest = Forward(enc_p, spec.encoder, source[k + 1 : last + 1], None, h0=state).run()
        state = state_after(rest, last - k - 1)
    context[0] = state[0]
    targets = np.asarray(data.targets)
    decoder = Forward(
        dec_p,
        spec.decoder,
        decoder_inputs(spec, targets),
        targets,
        h0=context,
        loss_mask=data.loss_mask,
    )
    return np.asarray(decoder.run().step_losses)


@pytest.mark.parametrize("cell", CELLS)
def test_gradient_flow_runs_through_the_context_into_the_encoder(cell: str) -> None:
    spec, params, source, target, _, mask = case(cell, "onehot", "embedding")
    data = Sequences(source, target, mask, np.array([3, 4]))  # element 0 has one padding step
    forward = EncoderDecoder(spec).forward(params, data)
    flow = forward.gradient_flow()
    T_enc, T_dec, H = 4, 3, spec.hidden_size
    assert flow.shape == (7, 7)
    np.testing.assert_array_equal(np.triu(flow, 1), 0.0)
    np.testing.assert_array_equal(flow[:T_enc], 0.0)  # the encoder's steps carry no loss
    np.testing.assert_array_equal(flow[T_enc:, 3], 0.0)  # after the context: padding
    assert forward.decoder is not None
    decoder_flow = gradient_flow(forward.decoder.trace, split_params(params)[1], spec.decoder)
    np.testing.assert_array_equal(flow[T_enc:, T_enc:], decoder_flow)
    encoder_trace = forward.encoder.trace
    eps = 1e-5
    for k in range(3):
        base = state_after(encoder_trace, k)
        numeric = np.zeros((T_dec, H))  # d L_j / d h_k[0]
        for i in range(H):
            up, down = base.copy(), base.copy()
            up[0, i] += eps
            down[0, i] -= eps
            numeric[:, i] = (
                decoder_losses_from(spec, params, data, k, up)
                - decoder_losses_from(spec, params, data, k, down)
            ) / (2 * eps)
        expected = np.linalg.norm(numeric, axis=1)
        np.testing.assert_allclose(flow[T_enc:, k], expected, rtol=1e-6, atol=1e-11)


def test_encoder_cell_state_gradient_is_the_decoders_loss_wrt_c_k() -> None:
    spec, params, source, target, lengths, mask = case("lstm", "onehot", "onehot")
    data = Sequences(source, target, mask, lengths)
    forward = EncoderDecoder(spec).forward(params, data)
    forward.finish()
    backward = forward.backward()
    backward.finish()
    H, encoder_trace = spec.hidden_size, forward.encoder.trace
    for record in backward.steps[3:]:  # the encoder's steps, t = 3 .. 0
        k, c = record.t, np.array(encoder_trace.gates["c"][record.t])
        o = np.array(encoder_trace.gates["o"][k])

        def loss(k: int = k, c: np.ndarray = c, o: np.ndarray = o) -> float:
            state = state_after(encoder_trace, k)
            state[:, :H], state[:, H:] = o * np.tanh(c), c  # c_k reaches h_k = o_k tanh(c_k)
            return float(decoder_losses_from(spec, params, data, k, state).sum())

        numeric = numerical_gradient(loss, {"c": c})["c"]
        assert relative_error(np.array(record.dc)[0], numeric[0]) < 1e-6, k


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
