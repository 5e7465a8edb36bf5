"""torch.nn.GRU's form beside Cho et al.'s: its own parameter, and a different recurrence."""

from __future__ import annotations

import numpy as np

from app.engine import Forward, InitSpec, ModelSpec, init_params, param_shapes
from tests.engine.gradcheck import make_case


def test_torch_gru_has_the_engine_gru_names_plus_b_hh_initialised_to_zero() -> None:
    spec = ModelSpec(cell="gru_torch", input_size=5, hidden_size=4, output_size=3)
    gru = ModelSpec(cell="gru", input_size=5, hidden_size=4, output_size=3)
    shapes = param_shapes(spec)
    assert list(shapes) == [*list(param_shapes(gru))[:9], "b_hh", "W_hy", "b_y"]
    assert shapes["b_hh"] == (4,)
    params = init_params(spec, InitSpec(scale=0.5), np.random.default_rng(0))
    np.testing.assert_array_equal(params["b_hh"], 0.0)
    same_draws = init_params(gru, InitSpec(scale=0.5), np.random.default_rng(0))
    for name, value in same_draws.items():  # b_hh draws nothing: the other weights are Cho's
        np.testing.assert_array_equal(params[name], value)


def test_the_reset_after_the_product_is_not_chos_reset_before_it() -> None:
    case = make_case("gru_torch", "real", "linear", "stateful")
    case.params["b_hh"][:] = 0.0  # even without the extra bias, the two forms differ
    torch_form = Forward(case.params, case.spec, case.inputs, case.targets, h0=case.h0).run()
    cho_spec = ModelSpec(**{**case.spec.__dict__, "cell": "gru"})
    cho_params = {k: v for k, v in case.params.items() if k != "b_hh"}
    cho = Forward(cho_params, cho_spec, case.inputs, case.targets, h0=case.h0).run()
    assert np.abs(np.asarray(torch_form.hs) - np.asarray(cho.hs)).max() > 1e-3
    assert set(torch_form.gates) == {"z", "r", "h_tilde"}
