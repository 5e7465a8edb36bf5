"""The cell interface: backward is the adjoint of jvp, also with extra leading axes."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import Forward
from app.engine.unroll import build_model
from tests.engine.gradcheck import CELLS, make_case


@pytest.mark.parametrize("cell", CELLS)
def test_backward_is_the_transpose_of_jvp(cell: str) -> None:
    case = make_case(cell, "real", "softmax", "stateful", T=3, B=2)
    trace = Forward(case.params, case.spec, case.inputs, case.targets, h0=case.h0).run()
    model = build_model(case.params, case.spec)
    rng = np.random.default_rng(0)
    H = case.spec.hidden_size
    for t in range(3):
        u = rng.standard_normal((4, 2, H))  # several cotangents at once, as truncation carries
        v = rng.standard_normal((2, H))
        _, vjp, _ = model.cell.backward(trace.tape, t, u, None, model.w)
        jv = model.cell.jvp(trace.tape, t, v, model.w)
        np.testing.assert_allclose(
            np.einsum("sbh,bh->s", u, jv), np.einsum("sbh,bh->s", vjp, v), rtol=1e-12
        )
