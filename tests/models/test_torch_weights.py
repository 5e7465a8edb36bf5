"""Loaded torch weights run as torch's documented equations do, to 1e-12 in float64."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import Backward, Forward
from app.models import TorchModel, WeightsLimits, load_torch_model
from tests.models.torch_reference import (
    safetensors_bytes,
    sidecar_json,
    torch_forward,
    torch_tensors,
)

VOCAB = ["a", "b", "c", " ", "."]
FEATURES = ["temperature", "rain", "wind"]
T, B, H = 6, 3, 4


def load(tensors: dict[str, np.ndarray], **sidecar: object) -> TorchModel:
    return load_torch_model(safetensors_bytes(tensors), sidecar_json(**sidecar))


def inputs_of(model: TorchModel, tensors: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(engine inputs, the x_t torch reads): token ids and their one-hot or embedding rows."""
    rng = np.random.default_rng(5)
    if not model.sidecar.tokens:
        xs = rng.standard_normal((T, B, len(FEATURES)))
        return xs, xs
    ids = rng.integers(0, len(VOCAB), (T, B))
    if "embedding.weight" in tensors:
        return ids, tensors["embedding.weight"].astype(np.float64)[ids]
    return ids, np.eye(len(VOCAB))[ids]


CASES = [
    ("nn.RNN", "tanh", "onehot"),
    ("nn.RNN", "relu", "embedding"),
    ("nn.RNN", "tanh", "features"),
    ("nn.LSTM", None, "onehot"),
    ("nn.LSTM", None, "embedding"),
    ("nn.LSTM", None, "features"),
    ("nn.GRU", None, "onehot"),
    ("nn.GRU", None, "embedding"),
    ("nn.GRU", None, "features"),
]


@pytest.mark.parametrize(("module", "nonlinearity", "inputs"), CASES)
@pytest.mark.parametrize("prefix", ["rnn.", ""])
def test_loaded_model_runs_torchs_equations(
    module: str, nonlinearity: str | None, inputs: str, prefix: str
) -> None:
    tokens = inputs != "features"
    D = 3 if inputs == "embedding" else len(VOCAB) if tokens else len(FEATURES)
    outputs = len(VOCAB) if tokens else 2
    tensors = torch_tensors(
        module,
        D,
        H,
        vocab=len(VOCAB) if inputs == "embedding" else 0,
        outputs=outputs,
        prefix=prefix,
    )
    side: dict[str, object] = (
        {"kind": "tokens", "vocab": VOCAB}
        if tokens
        else {"kind": "features", "inputs": FEATURES, "outputs": ["temperature", "rain"]}
    )
    if nonlinearity:
        side["nonlinearity"] = nonlinearity
    model = load(tensors, **side)
    assert model.module == module and model.has_head
    assert model.spec.input_kind == ("real" if not tokens else inputs)
    assert model.spec.cell == {"nn.RNN": "rnn", "nn.LSTM": "lstm", "nn.GRU": "gru_torch"}[module]
    assert model.spec.activation == (nonlinearity or "tanh")
    ids, xs = inputs_of(model, tensors)
    hs, ys = torch_forward(module, tensors, xs, prefix=prefix, nonlinearity=nonlinearity or "tanh")
    targets = (
        np.zeros((T, B), int) if tokens else np.zeros((T, B, 2))
    )  # the loss is not compared, only h_t and the head's outputs
    trace = Forward(model.params, model.spec, ids, targets).run()
    np.testing.assert_allclose(trace.hs, hs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(trace.logits, ys, rtol=1e-12, atol=1e-14)
    assert all(p.dtype == np.float64 for p in model.params.values())


def test_a_layer_without_biases_or_head_loads_and_then_trains() -> None:
    tensors = torch_tensors("nn.GRU", len(VOCAB), H, bias=False, dtype=np.float64)
    model = load(tensors, kind="tokens", vocab=VOCAB)
    assert not model.has_head
    np.testing.assert_array_equal(model.params["b_h"], 0.0)
    np.testing.assert_array_equal(model.params["b_hh"], 0.0)
    params = model.complete_params(np.random.default_rng(0), 0.1)
    assert params["W_hy"].shape == (len(VOCAB), H) and np.all(params["b_y"] == 0.0)
    assert "W_hy" not in model.params  # completing copies, the loaded model stays as it was
    ids, xs = inputs_of(model, tensors)
    hs, _ = torch_forward("nn.GRU", tensors, xs)
    trace = Forward(params, model.spec, ids, ids).run()
    np.testing.assert_allclose(trace.hs, hs, rtol=1e-12, atol=1e-14)
    grads = Backward(trace, params, model.spec).run()
    assert set(grads.grads) == set(params) and grads.finite


def test_torch_gate_order_maps_onto_the_engine_blocks() -> None:
    tensors = torch_tensors("nn.LSTM", 2, 3, outputs=1, dtype=np.float64)
    model = load(tensors, kind="features", inputs=["x", "y"], outputs=["x"])
    w_ih, b = tensors["rnn.weight_ih_l0"], tensors["rnn.bias_ih_l0"] + tensors["rnn.bias_hh_l0"]
    for j, gate in enumerate("ifgo"):  # torch stacks i, f, g, o; the engine names each block
        np.testing.assert_array_equal(model.params[f"W_x{gate}"], w_ih[3 * j : 3 * j + 3])
        np.testing.assert_array_equal(model.params[f"b_{gate}"], b[3 * j : 3 * j + 3])
    gru = torch_tensors("nn.GRU", 2, 3, dtype=np.float64)
    loaded = load(gru, kind="features", inputs=["x", "y"])
    b_ih, b_hh = gru["rnn.bias_ih_l0"], gru["rnn.bias_hh_l0"]
    np.testing.assert_array_equal(loaded.params["W_hr"], gru["rnn.weight_hh_l0"][:3])
    np.testing.assert_array_equal(loaded.params["b_z"], b_ih[3:6] + b_hh[3:6])
    np.testing.assert_array_equal(loaded.params["b_h"], b_ih[6:])
    np.testing.assert_array_equal(loaded.params["b_hh"], b_hh[6:])


def test_limits_are_checked() -> None:
    tensors = torch_tensors("nn.RNN", len(VOCAB), 8)
    data = safetensors_bytes(tensors)
    side = sidecar_json(kind="tokens", vocab=VOCAB)
    with pytest.raises(ValueError, match="hidden size 8; the limit is 7") as info:
        load_torch_model(data, side, WeightsLimits(max_hidden_size=7))
    assert info.value.field == "weights.rnn.weight_hh_l0"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=f"is {len(data)} bytes; the limit is 100"):
        load_torch_model(data, side, WeightsLimits(max_bytes=100))
    with pytest.raises(ValueError, match="has 5 entries; the limit is 4"):
        load_torch_model(data, side, WeightsLimits(max_vocab=4))
    features = sidecar_json(kind="features", inputs=FEATURES)
    with pytest.raises(ValueError, match="has 3 entries; the limit is 2"):
        load_torch_model(data, features, WeightsLimits(max_features=2))
