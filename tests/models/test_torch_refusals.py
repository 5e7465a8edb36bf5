"""Every weights file or sidecar that cannot load exactly is refused, naming what is wrong."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from app.inputs import InputError
from app.models import load_torch_model
from tests.models.torch_reference import safetensors_bytes, sidecar_json, torch_tensors

VOCAB = ["a", "b", "c"]
Tensors = dict[str, np.ndarray]


def lstm() -> Tensors:
    return torch_tensors("nn.LSTM", len(VOCAB), 4, outputs=len(VOCAB))


def with_(name: str, value: np.ndarray) -> Callable[[Tensors], None]:
    def change(tensors: Tensors) -> None:
        tensors[name] = value

    return change


def without(*names: str) -> Callable[[Tensors], None]:
    def change(tensors: Tensors) -> None:
        for name in names:
            del tensors[name]

    return change


F32 = np.float32
TENSOR_REFUSALS = [
    (with_("rnn.weight_ih_l1", np.zeros((16, 4), F32)), "weights.rnn.weight_ih_l1", "layer 2"),
    (
        with_("rnn.weight_hh_l0_reverse", np.zeros((16, 4), F32)),
        "weights.rnn.weight_hh_l0_reverse",
        "bidirectional=False",
    ),
    (with_("rnn.weight_hr_l0", np.zeros((2, 4), F32)), "weights.rnn.weight_hr_l0", "proj_size"),
    (with_("decoder.weight", np.zeros((2, 4), F32)), "weights.decoder.weight", "not a tensor"),
    (without("rnn.weight_hh_l0"), "weights.rnn.weight_hh_l0", "is missing"),
    (without("rnn.weight_ih_l0"), "weights.rnn.weight_ih_l0", "is missing"),
    (without("rnn.bias_hh_l0"), "weights.rnn.bias_hh_l0", "is missing"),
    (without("head.weight"), "weights.head.weight", "is missing"),
    (with_("rnn.weight_hh_l0", np.zeros((14, 4), F32)), "weights.rnn.weight_hh_l0", "G = 1"),
    (with_("rnn.weight_hh_l0", np.zeros((8, 4), F32)), "weights.rnn.weight_hh_l0", "G = 1"),
    (with_("rnn.weight_hh_l0", np.zeros(16, F32)), "weights.rnn.weight_hh_l0", "G = 1"),
    (with_("rnn.weight_ih_l0", np.zeros((12, 3), F32)), "weights.rnn.weight_ih_l0", r"\(16, 3\)"),
    (with_("rnn.weight_ih_l0", np.zeros((16, 5), F32)), "weights.rnn.weight_ih_l0", "3 inputs"),
    (with_("rnn.bias_ih_l0", np.zeros(12, F32)), "weights.rnn.bias_ih_l0", r"\(16,\)"),
    (with_("head.weight", np.zeros((4, 4), F32)), "weights.head.weight", "3 outputs"),
    (with_("head.bias", np.zeros(2, F32)), "weights.head.bias", r"\(3,\)"),
    (with_("embedding.weight", np.zeros((4, 3), F32)), "weights.embedding.weight", "per token"),
    (with_("rnn.bias_ih_l0", np.zeros(16, np.int64)), "weights.rnn.bias_ih_l0", "dtype I64"),
    (with_("head.bias", np.array([True, False, True])), "weights.head.bias", "dtype BOOL"),
    (with_("head.bias", np.array([0, np.nan, 0], F32)), "weights.head.bias", "NaN or inf"),
    (with_("head.bias", np.array([0, np.inf, 0], F32)), "weights.head.bias", "NaN or inf"),
]


@pytest.mark.parametrize(("change", "field", "message"), TENSOR_REFUSALS)
def test_bad_tensors_are_refused_naming_the_tensor(
    change: Callable[[Tensors], None], field: str, message: str
) -> None:
    tensors = lstm()
    change(tensors)
    with pytest.raises(InputError, match=message) as info:
        load_torch_model(safetensors_bytes(tensors), sidecar_json(kind="tokens", vocab=VOCAB))
    assert info.value.field == field


SIDECAR_REFUSALS = [
    ('{"kind": "tokens", "vocab": ["a", ', "sidecar", "not valid JSON", (1, 35)),
    ("[1, 2]", "sidecar", "JSON object", None),
    ('{"kind": "words", "vocab": ["a"]}', "sidecar.kind", "tokens, features", None),
    ('{"kind": "tokens", "vocab": ["a", "b", "c"], "vocabs": []}', "sidecar.vocabs", "not a", None),
    ('{"kind": "tokens"}', "sidecar.vocab", "is missing", None),
    ('{"kind": "tokens", "vocab": "abc"}', "sidecar.vocab", "non-empty list", None),
    ('{"kind": "tokens", "vocab": ["a", "b", "a"]}', "sidecar.vocab[2]", "repeats 'a'", None),
    ('{"kind": "tokens", "vocab": ["a", "", "c"]}', "sidecar.vocab[1]", "1 to 100", None),
    ('{"kind": "tokens", "vocab": ["a", "b", 3]}', "sidecar.vocab[2]", "1 to 100", None),
    (
        '{"kind": "tokens", "vocab": ["a", "b", "c"], "nonlinearity": "relu"}',
        "sidecar.nonlinearity",
        "nn.RNN only",
        None,
    ),
    (
        '{"kind": "tokens", "vocab": ["a", "b", "c"], "nonlinearity": "gelu"}',
        "sidecar.nonlinearity",
        "tanh or relu",
        None,
    ),
    ('{"kind": "features", "inputs": ["x", "y", "z"]}', "weights.embedding.weight", "tokens", None),
    (b"\xff\xfe{\x00", "sidecar", "UTF-8", None),
]


@pytest.mark.parametrize(("sidecar", "field", "message", "position"), SIDECAR_REFUSALS)
def test_bad_sidecars_are_refused_naming_the_key(
    sidecar: str | bytes, field: str, message: str, position: tuple[int, int] | None
) -> None:
    tensors = lstm()
    tensors["embedding.weight"] = np.zeros((3, 3), F32)
    with pytest.raises(InputError, match=message) as info:
        load_torch_model(safetensors_bytes(tensors), sidecar)
    assert info.value.field == field
    if position is not None:
        assert (info.value.line, info.value.column) == position


@pytest.mark.parametrize("data", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}", b"x" * 64])
def test_a_file_that_is_not_safetensors_is_refused(data: bytes) -> None:
    with pytest.raises(InputError, match=r"not a (readable )?\.safetensors file") as info:
        load_torch_model(data, sidecar_json(kind="tokens", vocab=VOCAB))
    assert info.value.field == "weights"
