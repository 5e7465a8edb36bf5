"""Backpropagation through time one step at a time, from t = T-1 down to 0.

Each BackwardStep reports dL/dh_t of the total loss and its norm, the largest singular value
of the step's Jacobian dh_t/dh_{t-1} (batch element 0) and a snapshot of every parameter's
gradient accumulated over steps T-1 .. t: read-only arrays that later steps never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from app.engine.diagnostics import jacobian_norms_of
from app.engine.forward import ForwardTrace, readonly
from app.engine.numerics import all_finite, global_norm, norms
from app.engine.spec import ModelSpec
from app.engine.types import Array
from app.engine.unroll import Sweep, build_model, head_gradients, param_grads


@dataclass(frozen=True)
class Gradients:
    """Every parameter's gradient with its norm, the global norm and a finiteness flag."""

    grads: dict[str, Array]
    norms: dict[str, float]
    global_norm: float
    finite: bool  # False when any gradient holds a NaN or infinity: do not apply it

    @classmethod
    def of(cls, grads: dict[str, Array]) -> Gradients:
        """Measure a gradient dictionary."""
        return cls(grads, norms(grads), global_norm(grads), all_finite(grads))


@dataclass(frozen=True)
class BackwardStep:
    """What BPTT learned at step t."""

    t: int
    dh: Array  # (B, H) dL/dh_t of the total loss (read-only)
    dh_norm: float  # ||dL/dh_t|| over the whole batch
    da: Array  # (B, G*H) dL/da_t, the stacked pre-activations' gradient (read-only)
    jacobian_norm: float  # largest singular value of dh_t/dh_{t-1}, batch element 0 (nan: off)
    grads: dict[str, Array]  # each parameter's gradient summed over steps T-1 .. t (read-only)

    def shifted(self, steps: int) -> BackwardStep:
        """The same record numbered `steps` later (a decoder's steps follow its encoder's)."""
        return replace(self, t=self.t + steps)


class Backward:
    """Walk a finished forward trace back one step at a time: step(), or run().

    With truncation k, the gradient of each loss flows back at most k steps (truncated BPTT).
    """

    def __init__(
        self,
        trace: ForwardTrace,
        params: Mapping[str, Array],
        spec: ModelSpec,
        *,
        truncation: int | None = None,
        diagnostics: bool = True,
        dh_ext: Array | None = None,
        dc_ext: Array | None = None,
    ) -> None:
        """dh_ext, dc_ext (T, B, H): extra gradient arriving at h_t, c_t (e.g. a decoder's)."""
        if trace.spec != spec:
            raise ValueError("the trace was made with a different ModelSpec")
        self.spec = spec
        self.model = build_model(params, spec)
        self.trace = trace
        batch, tape = trace.batch, trace.tape
        shape = (batch.T, batch.B, spec.hidden_size)
        self.dlogits: Array | None = None
        dh_total = np.zeros(shape, self.model.dtype)
        if spec.head != "none":
            self.dlogits, dh_head = head_gradients(self.model, batch, trace.ys)
            dh_total += dh_head
        if dh_ext is not None:
            dh_total += dh_ext
        self.sweep = Sweep(self.model, tape, dh_total, dc_ext, truncation)
        self.diagnostics = diagnostics
        self._jacobian_norms: dict[int, float] = {}
        self.steps: list[BackwardStep] = []
        self._result: Gradients | None = None

    @property
    def t(self) -> int:
        """The next step to process (T-1 first; -1 once done)."""
        return self.sweep.t

    @property
    def done(self) -> bool:
        """Whether step 0 has been processed."""
        return self.sweep.done

    def jacobian_norm(self, t: int) -> float:
        """sigma_max(dh_t/dh_{t-1}) for batch element 0, computed when first asked for."""
        if t not in self._jacobian_norms:
            steps = slice(t, t + 1)
            self._jacobian_norms[t] = float(
                jacobian_norms_of(self.model, self.trace.tape, 0, steps)[0]
            )
        return self._jacobian_norms[t]

    @property
    def gradients(self) -> Gradients:
        """The final gradients, once done."""
        if self._result is None:
            raise RuntimeError(f"backward pass not done: next step is {self.t}")
        return self._result

    def initial_state_grads(self) -> tuple[Array, Array | None]:
        """(dL/dh0, dL/dc0) once done: the gradient flowing into the initial state."""
        return self.sweep.initial_state_grads()

    def step(self) -> BackwardStep:
        """Backprop through step t and accumulate every parameter's gradient there."""
        t, dh = self.sweep.step()
        # the gradient summed over steps t .. T-1: one product per weight over those steps, the
        # same code as loss_and_grads, so at t = 0 the two agree exactly
        T = self.trace.batch.T
        grads = param_grads(
            self.model, self.trace.batch, self.trace.tape, self.sweep.dA, self.dlogits, slice(t, T)
        )
        jacobian = self.jacobian_norm(t) if self.diagnostics else float("nan")
        record = BackwardStep(
            t=t,
            dh=readonly(dh),
            dh_norm=float(np.sqrt(np.vdot(dh, dh))),
            da=readonly(self.sweep.dA[t]),
            jacobian_norm=jacobian,
            grads={name: readonly(g) for name, g in grads.items()},
        )
        self.steps.append(record)
        if self.done:
            self._result = Gradients.of({name: g.copy() for name, g in grads.items()})
        return record

    def run(self) -> Gradients:
        """Process the remaining steps and return the final gradients."""
        while not self.done:
            self.step()
        return self.gradients
