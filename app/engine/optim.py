"""First-order optimizers updating parameters in place: SGD, momentum, Adagrad, RMSProp, Adam.

Each keeps its state per parameter name, exports it with state_dict() (floats, ints and
arrays only) and restores it exactly with load_state_dict(). update() refuses gradients with
NaN or infinity (NonFiniteError) before touching any parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal

import numpy as np

from app.engine.numerics import NonFiniteError, nonfinite_names
from app.engine.types import Array

StateValue = Array | float | int
OptimizerName = Literal["sgd", "momentum", "adagrad", "rmsprop", "adam"]


class Optimizer:
    """Base: learning rate, hyperparameters, per-parameter slots and the step count."""

    name = "sgd"
    slots: ClassVar[tuple[str, ...]] = ()  # per-parameter state arrays, e.g. Adam's ("m", "v")
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(self, lr: float, **hyper: float) -> None:
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise ValueError(f"{self.name} has no hyperparameter {', '.join(sorted(unknown))}")
        self.lr = lr
        self.hyper = {**self.defaults, **{k: float(v) for k, v in hyper.items()}}
        self.t = 0  # updates applied
        self.state: dict[str, dict[str, Array]] = {slot: {} for slot in self.slots}

    @property
    def lr(self) -> float:
        """The learning rate, changeable between steps."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"lr must be finite and non-negative; got {value!r}")
        self._lr = float(value)

    def update(self, params: dict[str, Array], grads: Mapping[str, Array]) -> None:
        """Apply one step to every parameter in place."""
        if set(grads) != set(params):
            raise ValueError(
                f"grads and params name different parameters: {sorted(set(grads) ^ set(params))}"
            )
        bad = nonfinite_names(grads)
        if bad:
            raise NonFiniteError(f"refusing a non-finite update: NaN or inf in {', '.join(bad)}")
        self.t += 1
        for name, p in params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(f"grads[{name!r}] has shape {g.shape}, params has {p.shape}")
            slots = {slot: self._slot(slot, name, p) for slot in self.slots}
            self._apply(p, g, slots)

    def _slot(self, slot: str, name: str, p: Array) -> Array:
        """The state array `slot` of parameter `name`, zeros the first time."""
        table = self.state[slot]
        if name not in table:
            table[name] = np.zeros_like(p)
        return table[name]

    def _apply(self, p: Array, g: Array, slots: dict[str, Array]) -> None:
        """SGD: p -= lr g."""
        p -= self.lr * g

    def state_dict(self) -> dict[str, StateValue]:
        """lr, hyperparameters, step count and every slot array ("slot/param" keys), copied."""
        out: dict[str, StateValue] = {"lr": self.lr, "t": self.t, **self.hyper}
        for slot, table in self.state.items():
            for name, value in table.items():
                out[f"{slot}/{name}"] = value.copy()
        return out

    def load_state_dict(self, state: Mapping[str, StateValue]) -> None:
        """Restore exactly what state_dict() exported."""
        keys = {"lr", "t", *self.hyper}
        missing = keys - set(state)
        if missing:
            raise ValueError(f"{self.name} state is missing {', '.join(sorted(missing))}")
        tables: dict[str, dict[str, Array]] = {slot: {} for slot in self.slots}
        for key, value in state.items():
            if key in keys:
                continue
            slot, _, name = key.partition("/")
            if slot not in tables or not name:
                raise ValueError(f"{self.name} state has an unexpected entry {key!r}")
            tables[slot][name] = np.array(value, copy=True)
        self.lr = float(state["lr"])
        self.t = int(state["t"])
        self.hyper = {k: float(state[k]) for k in self.hyper}
        self.state = tables


class SGD(Optimizer):
    """Plain gradient descent."""

    name = "sgd"


class Momentum(Optimizer):
    """Classical momentum: v = mu v - lr g; p += v (Polyak 1964)."""

    name = "momentum"
    slots = ("v",)
    defaults: ClassVar[dict[str, float]] = {"mu": 0.9}

    def _apply(self, p: Array, g: Array, slots: dict[str, Array]) -> None:
        v = slots["v"]
        v *= self.hyper["mu"]
        v -= self.lr * g  # velocity
        p += v


class Adagrad(Optimizer):
    """Adagrad as in min-char-rnn: mem += g^2; p -= lr g / sqrt(mem + eps) (Duchi et al. 2011)."""

    name = "adagrad"
    slots = ("mem",)
    defaults: ClassVar[dict[str, float]] = {"eps": 1e-8}

    def _apply(self, p: Array, g: Array, slots: dict[str, Array]) -> None:
        mem = slots["mem"]
        mem += g * g  # sum of squared gradients
        p -= self.lr * g / np.sqrt(mem + self.hyper["eps"])


class RMSProp(Optimizer):
    """RMSProp: s = rho s + (1 - rho) g^2; p -= lr g / (sqrt(s) + eps) (Tieleman & Hinton 2012)."""

    name = "rmsprop"
    slots = ("s",)
    defaults: ClassVar[dict[str, float]] = {"rho": 0.9, "eps": 1e-8}

    def _apply(self, p: Array, g: Array, slots: dict[str, Array]) -> None:
        s, rho = slots["s"], self.hyper["rho"]
        s *= rho
        s += (1.0 - rho) * g * g  # running mean square
        p -= self.lr * g / (np.sqrt(s) + self.hyper["eps"])


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba 2015)."""

    name = "adam"
    slots = ("m", "v")
    defaults: ClassVar[dict[str, float]] = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def _apply(self, p: Array, g: Array, slots: dict[str, Array]) -> None:
        m, v = slots["m"], slots["v"]
        b1, b2 = self.hyper["beta1"], self.hyper["beta2"]
        m *= b1
        m += (1.0 - b1) * g  # first moment
        v *= b2
        v += (1.0 - b2) * g * g  # second moment
        m_hat = m / (1.0 - b1**self.t)  # bias corrections
        v_hat = v / (1.0 - b2**self.t)
        p -= self.lr * m_hat / (np.sqrt(v_hat) + self.hyper["eps"])


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Adagrad, RMSProp, Adam)
}


def make_optimizer(name: str, lr: float, **hyper: float) -> Optimizer:
    """An optimizer by name: sgd, momentum, adagrad, rmsprop or adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {name!r}")
    return OPTIMIZERS[name](lr, **hyper)
