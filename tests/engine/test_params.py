"""Parameter names, shapes, seeded determinism and the three initialisation schemes."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import InitSpec, ModelSpec, init_params, param_shapes
from app.engine.params import spectral_radius


def spec(cell: str = "rnn", **kw: object) -> ModelSpec:
    return ModelSpec(cell=cell, input_size=7, hidden_size=5, output_size=3, **kw)  # type: ignore[arg-type]


def test_vanilla_names_and_shapes_follow_the_equations() -> None:
    params = init_params(spec(), InitSpec(), np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == {
        "W_xh": (5, 7),
        "W_hh": (5, 5),
        "b_h": (5,),
        "W_hy": (3, 5),
        "b_y": (3,),
    }
    emb = param_shapes(spec(input_kind="embedding", embedding_size=2))
    assert emb["E"] == (7, 2) and emb["W_xh"] == (5, 2)


def test_gate_names() -> None:
    lstm = param_shapes(spec("lstm"))
    gru = param_shapes(spec("gru"))
    for k in "ifog":
        assert lstm[f"W_x{k}"] == (5, 7) and lstm[f"W_h{k}"] == (5, 5) and lstm[f"b_{k}"] == (5,)
    for k in "zrh":
        assert gru[f"W_x{k}"] == (5, 7) and gru[f"W_h{k}"] == (5, 5) and gru[f"b_{k}"] == (5,)
    assert "W_hy" in lstm and "b_y" in gru
    params = init_params(spec("lstm"), InitSpec(), np.random.default_rng(0))
    np.testing.assert_array_equal(params["b_f"], 1.0)  # remember by default
    np.testing.assert_array_equal(params["b_i"], 0.0)
    knob = init_params(spec("lstm"), InitSpec(forget_bias=3.0), np.random.default_rng(0))
    np.testing.assert_array_equal(knob["b_f"], 3.0)  # the knob moves b_f and nothing else
    for name in params:
        if name != "b_f":
            np.testing.assert_array_equal(knob[name], params[name])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("scheme", ["gaussian", "orthogonal", "identity"])
def test_same_seed_gives_bit_identical_params(cell: str, scheme: str) -> None:
    init = InitSpec(scheme=scheme, spectral_radius=0.9)
    a = init_params(spec(cell), init, np.random.default_rng(42))
    b = init_params(spec(cell), init, np.random.default_rng(42))
    c = init_params(spec(cell), init, np.random.default_rng(43))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_schemes_and_spectral_radius() -> None:
    rng = np.random.default_rng(1)
    g = init_params(spec(), InitSpec(scale=0.1), rng)["W_hh"]
    assert 0.02 < g.std() < 0.3
    for r in (0.5, 1.0, 1.7):
        assert spectral_radius(
            init_params(spec(), InitSpec(spectral_radius=r), rng)["W_hh"]
        ) == pytest.approx(r, rel=1e-12)
        q = init_params(spec(), InitSpec(scheme="orthogonal", spectral_radius=r), rng)["W_hh"]
        np.testing.assert_allclose(q.T @ q, r**2 * np.eye(5), atol=1e-12)  # scaled orthogonal
    q = init_params(spec(), InitSpec(scheme="orthogonal"), rng)["W_hh"]
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-12)
    irnn = init_params(spec(activation="relu"), InitSpec(scheme="identity", scale=0.001), rng)
    np.testing.assert_array_equal(irnn["W_hh"], np.eye(5))  # Le et al. 2015
    np.testing.assert_array_equal(irnn["b_h"], 0.0)
    with pytest.raises(ValueError, match="spectral radius 0"):
        init_params(spec(), InitSpec(scale=0.0, spectral_radius=1.0), rng)


def test_float32_params() -> None:
    params = init_params(spec(dtype="float32"), InitSpec(), np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in params.values())
