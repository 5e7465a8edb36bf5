"""Optimizers: the update rules, a changeable learning rate and exact state export."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine import OPTIMIZERS, make_optimizer


def run(name: str, steps: int, lr: float = 0.1) -> list[np.ndarray]:
    """A scalar parameter's trajectory under gradients 1, 2, 3, ..."""
    p = {"w": np.array([1.0])}
    opt = make_optimizer(name, lr)
    out = []
    for i in range(steps):
        opt.update(p, {"w": np.array([float(i + 1)])})
        out.append(p["w"].copy())
    return out


def test_update_rules_by_hand() -> None:
    np.testing.assert_allclose(run("sgd", 2), [[0.9], [0.7]])
    np.testing.assert_allclose(run("momentum", 2), [[0.9], [0.9 - 0.09 - 0.2]])
    np.testing.assert_allclose(
        run("adagrad", 2),
        [[1 - 0.1 / np.sqrt(1 + 1e-8)], [1 - 0.1 / np.sqrt(1 + 1e-8) - 0.2 / np.sqrt(5 + 1e-8)]],
    )
    s1, s2 = 0.1 * 1, 0.9 * 0.1 + 0.1 * 4
    np.testing.assert_allclose(
        run("rmsprop", 2),
        [
            [1 - 0.1 / (np.sqrt(s1) + 1e-8)],
            [1 - 0.1 / (np.sqrt(s1) + 1e-8) - 0.2 / (np.sqrt(s2) + 1e-8)],
        ],
    )
    first = run("adam", 1)[0]  # bias-corrected first step moves by lr
    np.testing.assert_allclose(first, [0.9], rtol=1e-7)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_round_trips_exactly_and_lr_can_change(name: str) -> None:
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(6)]
    a = make_optimizer(name, 0.05)
    for g in grads[:3]:
        a.update(params, g)
    saved, saved_params = a.state_dict(), {k: v.copy() for k, v in params.items()}
    assert all(isinstance(v, (float, int, np.ndarray)) for v in saved.values())
    b = make_optimizer(name, 0.5)
    b.load_state_dict(saved)
    other = {k: v.copy() for k, v in saved_params.items()}
    a.lr = b.lr = 0.01  # changed between steps
    for g in grads[3:]:
        a.update(params, g)
        b.update(other, g)
    for k in params:
        np.testing.assert_array_equal(params[k], other[k])
    assert a.t == b.t == 6


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(ValueError, match="beta3"):
        make_optimizer("adam", 0.1, beta3=0.5)
    opt = make_optimizer("sgd", 0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.lr = float("nan")
    with pytest.raises(ValueError, match="name different"):
        opt.update({"a": np.zeros(1)}, {"b": np.zeros(1)})
    with pytest.raises(ValueError, match="missing"):
        make_optimizer("adam", 0.1).load_state_dict({"lr": 0.1})
