"""ModelSpec and InitSpec refuse bad values naming the field; the options are defined once."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from app.engine import (
    ACTIVATIONS,
    CELLS,
    CLIP_MODES,
    ENGINE_CELLS,
    OPTIMIZERS,
    InitSpec,
    ModelSpec,
    OptimizerName,
)
from app.engine.activations import GAMMA
from app.engine.cell_types import CELL_TYPES

GOOD: dict[str, Any] = {"input_size": 5, "hidden_size": 4, "output_size": 3}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cell": "transformer"}, "cell"),
        ({"activation": "swish"}, "activation"),
        ({"input_kind": "image"}, "input_kind"),
        ({"head": "crf"}, "head"),
        ({"dtype": "float16"}, "dtype"),
        ({"input_size": 0}, "input_size"),
        ({"hidden_size": -1}, "hidden_size"),
        ({"hidden_size": 2.5}, "hidden_size"),
        ({"output_size": 0}, "output_size"),
        ({"head": "none"}, "output_size"),
        ({"input_kind": "embedding"}, "embedding_size"),
        ({"embedding_size": 3}, "embedding_size"),
    ],
)
def test_model_spec_names_the_bad_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ModelSpec(**{**GOOD, **changes})


def test_model_spec_defaults_and_derived_sizes() -> None:
    spec = ModelSpec(**GOOD)
    assert (spec.cell, spec.activation, spec.input_kind, spec.head, spec.dtype) == (
        "rnn",
        "tanh",
        "onehot",
        "softmax",
        "float64",
    )
    assert spec.input_dim == 5 and spec.state_size == 4 and spec.tokens
    lstm = ModelSpec(**GOOD, cell="lstm", input_kind="embedding", embedding_size=2)
    assert lstm.input_dim == 2 and lstm.state_size == 8
    assert ModelSpec(input_size=2, hidden_size=3, output_size=0, head="none").head == "none"
    with pytest.raises(AttributeError):
        spec.cell = "gru"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scheme": "xavier"}, "scheme"),
        ({"spectral_radius": 0.0}, "spectral_radius"),
        ({"scale": -1.0}, "scale"),
        ({"forget_bias": float("nan")}, "forget_bias"),
    ],
)
def test_init_spec_names_the_bad_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        InitSpec(**kwargs)


def test_each_option_list_is_what_the_engine_implements() -> None:
    assert tuple(CELL_TYPES) == ENGINE_CELLS
    # torch.nn.GRU's form runs loaded models; a run does not offer it as a choice
    assert tuple(cell for cell in ENGINE_CELLS if cell != "gru_torch") == CELLS
    assert set(ACTIVATIONS) == set(GAMMA)
    assert get_args(OptimizerName) == tuple(OPTIMIZERS)
    assert CLIP_MODES == ("none", "norm", "value")
