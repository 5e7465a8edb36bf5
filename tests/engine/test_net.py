"""The network interface: single and encoder-decoder nets answer the same calls."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import (
    Backward,
    EncoderDecoder,
    Forward,
    InitSpec,
    ModelSpec,
    Net,
    Seq2SeqSpec,
    Sequences,
    SingleNet,
    gradient_flow,
    jacobian_norms,
    saturation,
)
from app.engine.chain import Chain, Phase
from tests.engine.gradcheck import CELLS, make_case


def single(
    cell: str, activation: str = "tanh"
) -> tuple[SingleNet, dict[str, np.ndarray], Sequences]:
    case = make_case(cell, "onehot", "softmax", "masked", activation=activation)
    return SingleNet(case.spec), case.params, Sequences(case.inputs, case.targets, case.mask)


def encoder_decoder(cell: str) -> tuple[EncoderDecoder, dict[str, np.ndarray], Sequences]:
    rng = np.random.default_rng(0)
    spec = Seq2SeqSpec(cell=cell, source_size=4, target_size=5, hidden_size=3)  # type: ignore[arg-type]
    net = EncoderDecoder(spec)
    params = net.init_params(InitSpec(scale=0.5), rng)
    target = rng.integers(2, 5, (3, 2))
    target[-1] = spec.eos
    return net, params, Sequences(rng.integers(0, 4, (4, 2)), target, None, np.array([4, 2]))


def both(cell: str) -> list[tuple[Net, dict[str, np.ndarray], Sequences]]:
    return [single(cell), encoder_decoder(cell)]


@pytest.mark.parametrize("cell", CELLS)
def test_stepping_through_either_kind_gives_the_fast_paths_loss_and_gradients(cell: str) -> None:
    for net, params, data in both(cell):
        loss, grads, _ = net.loss_and_grads(params, data, None, None)
        forward = net.forward(params, data)
        while not forward.done:
            forward.step()
        assert [step.t for step in forward.steps] == list(range(len(forward.steps)))
        assert forward.total_loss == pytest.approx(loss, rel=1e-13)
        backward = forward.backward()
        while not backward.done:
            backward.step()
        assert [step.t for step in backward.steps] == list(range(len(forward.steps)))[::-1]
        stepwise = backward.run()
        assert set(stepwise.grads) == set(grads) == set(params)
        for name, g in grads.items():
            np.testing.assert_allclose(stepwise.grads[name], g, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("cell", "single_name", "gamma"),
    [("rnn", "W_hh", 0.25), ("lstm", "W_hg", 1.0), ("gru", "W_hh", 1.0)],
)
def test_each_kind_names_its_w_hh_and_bounds_it_by_its_nonlinearity(
    cell: str, single_name: str, gamma: float
) -> None:
    net, params, _ = single(cell, activation="sigmoid")  # gated cells bound by their tanh
    assert net.recurrent_name == single_name
    spectrum = net.spectrum(params)
    assert spectrum.gamma == gamma
    assert spectrum.spectral_radius == pytest.approx(
        np.abs(np.linalg.eigvals(params[single_name])).max()
    )
    pair, pair_params, _ = encoder_decoder(cell)
    assert pair.recurrent_name == "dec." + single_name  # the decoder writes the output
    assert pair.spectrum(pair_params).largest_singular_value == pytest.approx(
        np.linalg.norm(pair_params["dec." + single_name], 2)
    )


def test_parameters_are_checked_naming_the_parameter() -> None:
    for net, params, _ in both("gru"):
        net.check_params(params)
        name = net.recurrent_name
        wrong = {**params, name: params[name][:1]}
        with pytest.raises(ValueError, match=rf"params\['{name}'\] must have shape"):
            net.check_params(wrong)
        with pytest.raises(ValueError, match="missing"):
            net.check_params({k: v for k, v in params.items() if k != name})
        with pytest.raises(ValueError, match="float64"):
            net.check_params({**params, name: params[name].astype(np.float32)})


def test_a_single_pass_carries_its_state_and_measures_its_gradients() -> None:
    net, params, data = single("lstm")
    forward = net.forward(params, data, h0=None)
    measured = forward.measure()  # runs the pass to its end first
    trace = Forward(params, net.spec, data.inputs, data.targets, loss_mask=data.loss_mask).run()
    np.testing.assert_array_equal(forward.carried, trace.state)
    assert forward.carried.shape == (data.inputs.shape[1], 2 * net.spec.hidden_size)  # [h, c]
    np.testing.assert_array_equal(measured.flow, gradient_flow(trace, params, net.spec))
    np.testing.assert_array_equal(forward.gradient_flow(), measured.flow)
    np.testing.assert_array_equal(measured.jacobian_norms, jacobian_norms(trace, params, net.spec))
    backward = Backward(trace, params, net.spec, diagnostics=False)
    backward.run()
    np.testing.assert_array_equal(measured.dh_norms, [s.dh_norm for s in backward.steps][::-1])
    assert measured.loss == trace.total_loss and measured.saturation == saturation(trace)
    candidate = trace.gates["g"][:, 0]  # a gated cell saturates in its candidate's tanh
    assert saturation(trace) == pytest.approx(float(np.mean(1 - candidate**2)), rel=1e-12)


def test_only_a_token_model_with_a_softmax_head_samples() -> None:
    net, params, _ = single("rnn")
    assert net.generative
    rng = np.random.default_rng(0)
    drawn = net.sample(params, [1, 2, 3], 6, rng, 1.0)
    assert len(drawn) == 6 and all(0 <= t < net.spec.output_size for t in drawn)
    again = net.sample(params, [1, 2, 3], 6, np.random.default_rng(0), 1.0)
    assert again == drawn
    linear = SingleNet(
        ModelSpec(input_kind="real", input_size=2, hidden_size=3, output_size=1, head="linear")
    )
    assert not linear.generative
    pair, pair_params, _ = encoder_decoder("rnn")
    assert not pair.generative
    with pytest.raises(ValueError, match="softmax head"):
        pair.sample(pair_params, [0], 3, rng, 1.0)


def test_only_a_single_net_is_one_spec() -> None:
    net, _, _ = single("gru_torch")
    assert net.single_spec is net.spec and net.spec.cell == "gru_torch"
    pair, _, _ = encoder_decoder("gru")
    assert pair.single_spec is None  # an encoder and a decoder: no one spec to write out


def test_outputs_and_decoding_metrics() -> None:
    net, params, data = single("gru")
    trace = Forward(params, net.spec, data.inputs, data.targets, loss_mask=data.loss_mask).run()
    np.testing.assert_array_equal(net.outputs(params, data), trace.ys)
    assert net.decoding_metrics(params, data) == {}
    pair, pair_params, pair_data = encoder_decoder("gru")
    forward = pair.forward(pair_params, pair_data)
    forward.finish()
    assert forward.decoder is not None
    np.testing.assert_array_equal(pair.outputs(pair_params, pair_data), forward.decoder.trace.ys)
    metrics = pair.decoding_metrics(pair_params, pair_data)
    assert set(metrics) == {"exact_match"} and metrics["exact_match"] in (0.0, 0.5, 1.0)


def test_a_chain_numbers_its_phases_steps_as_one_pass() -> None:
    net, params, _ = single("rnn")

    def forward_of(token: int, T: int) -> Forward:
        tokens = np.full((T, 1), token)
        return Forward(params, net.spec, tokens, tokens)

    first = forward_of(0, 2)
    begun: list[str] = []

    def second() -> Forward:
        begun.append("second")
        return forward_of(1, 3)

    chain = Chain([Phase("first", 0, lambda: first), Phase("second", 2, second)])
    assert chain.phase == "first" and begun == []
    chain.step()
    chain.step()
    assert begun == ["second"] and chain.phase == "second"  # begun as soon as the first is done
    chain.finish()
    assert chain.done and chain.phase == "done"
    assert [s.t for s in chain.steps] == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError, match="done"):
        chain.step()
    with pytest.raises(ValueError, match="at least one phase"):
        Chain([])
