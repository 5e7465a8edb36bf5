"""One interface for every network a run holds: a single recurrent net, or an encoder-decoder.

The session, the trainer, diagnostics and sampling hold a `Net` and never ask which kind it is,
as micrograd's Value never asks which op made it. A net builds and checks its parameters, steps
forward with per-step records (a ForwardPass), which steps back through time (a BackwardPass),
computes loss and gradients on the fast path, and names the matrix the lessons call W_hh.
SingleNet is here; the encoder-decoder (app.engine.seq2seq) answers the same calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.engine.backward import Backward, BackwardStep, Gradients
from app.engine.diagnostics import Spectrum, gradient_flow, jacobian_norms, saturation, spectrum
from app.engine.forward import Forward, ForwardStep, ForwardTrace
from app.engine.params import check_params, init_params
from app.engine.sampling import sample
from app.engine.spec import InitSpec, ModelSpec
from app.engine.train import loss_and_grads
from app.engine.types import Array, Generator, Params, Sequences


@dataclass(frozen=True)
class Measurements:
    """A whole forward and backward pass measured at once: why gradients vanish or explode."""

    loss: float
    flow: Array  # (T, T) lower triangular ||dL_t/dh_k||
    jacobian_norms: Array  # (T,) sigma_max(dh_t/dh_{t-1})
    dh_norms: Array  # (T,) ||dL/dh_t|| of the total loss
    saturation: float  # mean |f'(a_t)|


class BackwardPass(Protocol):
    """BPTT one step at a time, from the last step back to the first."""

    steps: list[BackwardStep]

    @property
    def done(self) -> bool:
        """Whether every step has been walked back."""
        ...

    def step(self) -> BackwardStep:
        """Backprop through the next step back."""
        ...

    def run(self) -> Gradients:
        """Walk back the remaining steps; every parameter's gradient."""
        ...


class ForwardPass(Protocol):
    """The forward pass one time step at a time, keeping every per-step value."""

    steps: list[ForwardStep]

    @property
    def done(self) -> bool:
        """Whether every step has run."""
        ...

    @property
    def total_loss(self) -> float:
        """Sum of the losses of the steps run so far."""
        ...

    @property
    def carried(self) -> Array | None:
        """Once done: the state to start the next batch from, if the net carries one."""
        ...

    def step(self) -> ForwardStep:
        """Run the next time step and return its record."""
        ...

    def backward(self, truncation: int | None = None) -> BackwardPass:
        """Once done: BPTT over this pass, each loss reaching back `truncation` steps at most."""
        ...

    def gradient_flow(self) -> Array | None:
        """(T, T) ||dL_t/dh_k|| once run to the end; None where the net cannot show it."""
        ...

    def measure(self) -> Measurements:
        """Run to the end and measure the gradients' flow (ValueError where not meaningful)."""
        ...


class Net(Protocol):
    """What every kind of network answers."""

    @property
    def parts(self) -> tuple[ModelSpec, ...]:
        """The recurrent nets it unrolls, in the order they run (an encoder, then a decoder)."""
        ...

    @property
    def recurrent_name(self) -> str:
        """The parameter the lessons call W_hh."""
        ...

    @property
    def dtype(self) -> np.dtype[Any]:
        """The float type of the parameters."""
        ...

    @property
    def generative(self) -> bool:
        """Whether it can be fed its own output: token inputs and a softmax head."""
        ...

    @property
    def single_spec(self) -> ModelSpec | None:
        """The spec of one network (a single net's); None for nets chained (the encoder-decoder)."""
        ...

    def init_params(self, init: InitSpec, rng: Generator) -> Params:
        """Fresh parameters drawn from `rng`."""
        ...

    def check_params(self, params: Mapping[str, Array]) -> None:
        """Raise ValueError naming the parameter unless names, shapes and dtype fit."""
        ...

    def forward(self, params: Params, data: Sequences, h0: Array | None = None) -> ForwardPass:
        """A forward pass over `data` to step through, from state h0 (None: zeros)."""
        ...

    def loss_and_grads(
        self, params: Params, data: Sequences, h0: Array | None, truncation: int | None
    ) -> tuple[float, dict[str, Array], Array | None]:
        """(total loss, every parameter's gradient, state to carry) on the fast path."""
        ...

    def outputs(self, params: Params, data: Sequences) -> Array:
        """The outputs y (T, B, O) on `data` from a zero state (the decoder's, for seq2seq)."""
        ...

    def decoding_metrics(self, params: Params, data: Sequences) -> dict[str, float]:
        """Metrics of free-running decoding, where the net decodes (else none)."""
        ...

    def spectrum(self, params: Params) -> Spectrum:
        """The spectrum of W_hh under its nonlinearity's derivative bound."""
        ...

    def sample(
        self, params: Params, prime: Sequence[int], length: int, rng: Generator, temperature: float
    ) -> list[int]:
        """`length` tokens drawn after reading `prime` (not empty), each fed back as the next."""
        ...


class SinglePass(Forward):
    """A single net's forward pass, which knows how to walk itself back."""

    @property
    def carried(self) -> Array:
        """h_T, or [h_T, c_T] for an LSTM: min-char-rnn's hprev."""
        return self.trace.state

    def backward(self, truncation: int | None = None) -> Backward:
        """BPTT over the finished pass."""
        return Backward(self.trace, self.model.params, self.spec, truncation=truncation)

    def gradient_flow(self) -> Array:
        """(T, T) ||dL_t/dh_k|| of the whole pass."""
        return gradient_flow(self.run(), self.model.params, self.spec)

    def measure(self) -> Measurements:
        """Gradient flow, step Jacobians, ||dL/dh_t|| and saturation of the whole pass."""
        trace: ForwardTrace = self.run()
        params = self.model.params
        backward = Backward(trace, params, self.spec, diagnostics=False)
        backward.run()
        return Measurements(
            loss=trace.total_loss,
            flow=gradient_flow(trace, params, self.spec),
            jacobian_norms=jacobian_norms(trace, params, self.spec),
            dh_norms=np.array([step.dh_norm for step in reversed(backward.steps)]),  # t = 0..T-1
            saturation=saturation(trace),
        )


class SingleNet:
    """One recurrent network: many-to-many, many-to-one or one-to-many by its data and mask."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec

    @property
    def parts(self) -> tuple[ModelSpec, ...]:
        """Itself."""
        return (self.spec,)

    @property
    def recurrent_name(self) -> str:
        """W_hh, or the gated cell's candidate matrix."""
        return self.spec.recurrent_matrix

    @property
    def dtype(self) -> np.dtype[Any]:
        """The spec's float type."""
        return np.dtype(self.spec.dtype)

    @property
    def generative(self) -> bool:
        """Token inputs and a softmax head."""
        return self.spec.tokens and self.spec.head == "softmax"

    @property
    def single_spec(self) -> ModelSpec:
        """Its spec."""
        return self.spec

    def init_params(self, init: InitSpec, rng: Generator) -> Params:
        """Seeded parameters in the canonical order."""
        return init_params(self.spec, init, rng)

    def check_params(self, params: Mapping[str, Array]) -> None:
        """Names, shapes and dtype against the spec."""
        check_params(params, self.spec)

    def forward(self, params: Params, data: Sequences, h0: Array | None = None) -> SinglePass:
        """Step through `data` from h0."""
        return SinglePass(
            params, self.spec, data.inputs, data.targets, h0=h0, loss_mask=data.loss_mask
        )

    def loss_and_grads(
        self, params: Params, data: Sequences, h0: Array | None, truncation: int | None
    ) -> tuple[float, dict[str, Array], Array]:
        """The lean loop: no per-step records."""
        return loss_and_grads(params, self.spec, data, h0=h0, truncation=truncation)

    def outputs(self, params: Params, data: Sequences) -> Array:
        """y (T, B, O) from h = 0."""
        return np.asarray(self.forward(params, data).run().ys)

    def decoding_metrics(self, params: Params, data: Sequences) -> dict[str, float]:
        """None: a single net is scored on its outputs alone."""
        return {}

    def spectrum(self, params: Params) -> Spectrum:
        """W_hh's spectrum under the bound on its nonlinearity's slope."""
        return spectrum(params[self.recurrent_name], self.spec.recurrent_activation)

    def sample(
        self, params: Params, prime: Sequence[int], length: int, rng: Generator, temperature: float
    ) -> list[int]:
        """min-char-rnn's sample: read all of the prime but its last token, then generate."""
        h = None
        if len(prime) > 1:
            inputs = np.array(prime[:-1])[:, None]  # (T, 1): read the prime to set h
            h = Forward(params, self.spec, inputs, inputs).run().state
        return sample(params, self.spec, h, prime[-1], length, rng, temperature=temperature)
