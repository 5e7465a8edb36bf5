"""The forward pass one time step at a time, keeping every per-step value for display.

Like min-char-rnn's xs, hs, ys, ps, each step's x_t, a_t, h_t, gates, logits, y_t and loss_t
are written into preallocated (T, B, ...) buffers; ForwardStep and ForwardTrace hand out
read-only views of them, and Backward walks the same buffers back, so nothing is recomputed.

Loss convention: loss_t = sum_b m_tb l_tb / B, where l_tb is the cross-entropy -log p[target]
(softmax head) or 1/2 ||y - target||^2 (linear head) and m the loss mask (ones by default).
The total loss is sum_t loss_t, min-char-rnn's loss when B = 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.engine.cells import Tape
from app.engine.heads import head_forward
from app.engine.spec import ModelSpec
from app.engine.types import Array
from app.engine.unroll import (
    Batch,
    Model,
    build_model,
    carry,
    make_batch,
    onehot,
    output_logits,
    project_inputs,
    start_tape,
)


def readonly(a: Array) -> Array:
    """A read-only view, so a displayed value cannot corrupt the buffers backprop reads."""
    v = a.view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class ForwardStep:
    """Everything computed at step t (arrays are read-only views, batch first)."""

    t: int
    x: Array  # (B, D) the input vector used: one-hot row, embedding row or real vector
    h_prev: Array  # (B, H) h_{t-1}
    a: Array  # (B, H) pre-activation (LSTM/GRU: the candidate's)
    h: Array  # (B, H) h_t
    gates: dict[str, Array]  # (B, H) each: LSTM i, f, o, g, c; GRU z, r, h_tilde; RNN none
    logits: Array  # (B, O) W_hy h_t + b_y (O = 0 without a head)
    y: Array  # (B, O) softmax probabilities, or the linear prediction
    loss: float  # sum_b m_tb l_tb / B
    losses: Array  # (B,) m_tb l_tb, each sequence's mask-weighted loss

    def shifted(self, steps: int) -> ForwardStep:
        """The same record numbered `steps` later (a decoder's steps follow its encoder's)."""
        return replace(self, t=self.t + steps)


@dataclass(frozen=True)
class ForwardTrace:
    """The whole forward pass, stacked (T, B, ...), as read-only views."""

    spec: ModelSpec
    xs: Array  # (T, B, D)
    a: Array  # (T, B, H)
    hs: Array  # (T, B, H) h_0 .. h_{T-1}
    h0: Array  # (B, H) the initial state
    gates: dict[str, Array]  # (T, B, H) each
    logits: Array  # (T, B, O)
    ys: Array  # (T, B, O)
    losses: Array  # (T, B) mask-weighted per-sequence losses
    step_losses: Array  # (T,) loss_t
    total_loss: float  # sum_t loss_t
    h_last: Array  # (B, H) the final hidden state
    state: Array  # (B, H), or (B, 2H) [h, c] for an LSTM: pass back as h0 to carry on
    tape: Tape = field(repr=False)  # the cell's buffers, for Backward
    batch: Batch = field(repr=False)  # validated inputs, targets and mask, for Backward


class Forward:
    """Unroll a recurrent net over a (T, B) batch one step at a time: step(), or run()."""

    def __init__(
        self,
        params: Mapping[str, Array],
        spec: ModelSpec,
        inputs: Any,
        targets: Any,
        *,
        h0: Any = None,
        loss_mask: Any = None,
    ) -> None:
        self.spec = spec
        # params are read, not copied: stacked gate weights and the one-hot lookup are taken
        # now, so update them only between passes, never in the middle of one
        self.model: Model = build_model(params, spec)
        self.batch = make_batch(self.model, inputs, targets, loss_mask)
        T, B = self.batch.T, self.batch.B
        dtype = self.model.dtype
        self.xw = project_inputs(self.model, self.batch)  # (T, B, G*H), all steps in one go
        self.tape = start_tape(self.model, T, B, h0)
        if spec.input_kind == "onehot":
            assert self.batch.tokens is not None
            self.xs = onehot(self.batch.tokens, spec.input_size, dtype)  # (T, B, V)
        else:
            assert self.batch.X is not None
            self.xs = self.batch.X  # (T, B, D)
        O = spec.output_size
        self.logits = np.zeros((T, B, O), dtype)
        self.ys = np.zeros((T, B, O), dtype)
        self.losses = np.zeros((T, B), dtype)
        self.step_losses = np.zeros(T)
        self.steps: list[ForwardStep] = []
        self.t = 0
        self._trace: ForwardTrace | None = None

    @property
    def T(self) -> int:
        """Number of time steps."""
        return self.batch.T

    @property
    def done(self) -> bool:
        """Whether every step has run."""
        return self.t >= self.batch.T

    @property
    def total_loss(self) -> float:
        """Sum of the losses of the steps run so far."""
        return float(self.step_losses[: self.t].sum())

    @property
    def trace(self) -> ForwardTrace:
        """The stacked record of the whole pass, once done."""
        if self._trace is None:
            raise RuntimeError(f"forward pass not done: {self.t} of {self.batch.T} steps run")
        return self._trace

    def step(self) -> ForwardStep:
        """Run step t: h_t from x_t and h_{t-1}, then y_t and loss_t; return its record."""
        t = self.t
        if self.done:
            raise RuntimeError(f"forward pass is done: all {self.batch.T} steps have run")
        model, tape, batch = self.model, self.tape, self.batch
        model.cell.forward(tape, t, self.xw[t], model.w)  # the recurrence
        h = tape.hs[t + 1]
        if self.spec.head != "none":
            assert batch.targets is not None
            self.logits[t] = output_logits(model, h)  # W_hy h_t + b_y
            mask = None if batch.mask is None else batch.mask[t]
            self.ys[t], self.losses[t] = head_forward(
                self.spec.head, self.logits[t], batch.targets[t], mask
            )
            self.step_losses[t] = self.losses[t].sum() / batch.B
        a, gates = model.cell.display(tape)
        record = ForwardStep(
            t=t,
            x=readonly(self.xs[t]),
            h_prev=readonly(tape.hs[t]),
            a=readonly(a[t]),
            h=readonly(h),
            gates={name: readonly(g[t]) for name, g in gates.items()},
            logits=readonly(self.logits[t]),
            y=readonly(self.ys[t]),
            loss=float(self.step_losses[t]),
            losses=readonly(self.losses[t]),
        )
        self.steps.append(record)
        self.t = t + 1
        if self.done:
            self._finish()
        return record

    def run(self) -> ForwardTrace:
        """Run the remaining steps and return the trace."""
        while not self.done:
            self.step()
        return self.trace

    def _finish(self) -> None:
        """Vectorised local derivatives for backprop, and the stacked trace."""
        tape = self.tape
        self.model.cell.finish(tape)
        a, gates = self.model.cell.display(tape)
        self._trace = ForwardTrace(
            spec=self.spec,
            xs=readonly(self.xs),
            a=readonly(a),
            hs=readonly(tape.hs[1:]),
            h0=readonly(tape.hs[0]),
            gates={name: readonly(g) for name, g in gates.items()},
            logits=readonly(self.logits),
            ys=readonly(self.ys),
            losses=readonly(self.losses),
            step_losses=readonly(self.step_losses),
            total_loss=float(self.step_losses.sum()),
            h_last=readonly(tape.hs[-1]),
            state=carry(tape),
            tape=tape,
            batch=self.batch,
        )
