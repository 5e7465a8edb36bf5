"""What a run will cost, from its configuration alone, and the check against a server's budget.

The estimate counts, before anything is allocated, every buffer the engine keeps or builds for
one run (app/engine): parameters and optimizer slots; the forward pass's tape (T, B, ...) and
one-hot inputs; BPTT's dL/da, and the snapshot of every parameter's gradient it keeps per step;
the (T, T, H) gradient-flow array of the first backward step; and the largest of what one
command adds on top for a moment: the update and the next iteration's forward pass, a training
iteration with its held-out evaluation, the diagnostics (T Jacobians of H x H), an export.
tests/test_budget.py checks that it bounds what tracemalloc sees.

It also estimates the longest single piece of work the run asks of a worker (a training
iteration, the first BPTT step, the diagnostics), which decides where the run is hosted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np

from app.engine import Net
from app.engine.cells import BLOCKS, EXTRA_BIASES
from app.engine.spec import ModelSpec
from app.protocol import RunConfig
from app.run.refusal import CommandRefused
from app.tasks import Task

FLOAT = 8  # bytes: every engine buffer is float64
SESSION_OVERHEAD = 512 * 1024  # the session's Python objects, its frames and records
MARGIN = 1.15  # allocator slack over the arrays counted
TEXT_BYTES_PER_CHAR = 24  # a pasted text, its token ids and its task's splits
EXPORT_BYTES_PER_FLOAT = 26  # an exact float64 in JSON, and its separator
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}

# The cost model of one request (seconds): Python overhead per time step, then arithmetic.
STEP_SECONDS = 60e-6  # per step forward and back, as the engine's Python loops run them
FLOP_SECONDS = 0.3e-9  # per multiply-add in NumPy's products on one BLAS thread
CUBIC_SECONDS = 1.6e-9  # per H^3 of W_hh's SVD and eigenvalues (a spectrum frame)

# The sizes a refusal may suggest shrinking, in the order they are offered.
FIELDS = ("hidden_size", "seq_len", "batch_size", "embedding_size")


class Misplaced(Exception):
    """The run is too heavy for the worker asked to open it: a heavier worker should."""


@dataclass(frozen=True)
class Estimate:
    """A run's peak memory (bytes) and its longest single request (seconds)."""

    bytes: int
    seconds: float


Claim = Callable[[int], "int | None"]  # takes the bytes a run needs: None, or what is left


@dataclass(frozen=True)
class Allowance:
    """What a run may take where it is being opened: None means no limit."""

    session_bytes: int | None = None  # the per-session budget
    seconds: float | None = None  # the longest request this worker takes (light workers)
    claim: Claim | None = None  # reserves a run's memory in the server-wide budget


_allowance: ContextVar[Allowance | None] = ContextVar("allowance", default=None)


@contextmanager
def allowance(granted: Allowance) -> Iterator[None]:
    """Runs opened inside this block are checked against `granted`."""
    token = _allowance.set(granted)
    try:
        yield
    finally:
        _allowance.reset(token)


@dataclass(frozen=True)
class Unroll:
    """One recurrent net unrolled over a batch: the sizes its buffers take."""

    spec: ModelSpec
    T: int
    B: int

    @property
    def blocks(self) -> int:
        """G, the cell's blocks (gates and candidate)."""
        return len(BLOCKS[self.spec.cell])

    @property
    def params(self) -> int:
        """Parameters of this net (floats)."""
        s, G, H = self.spec, self.blocks, self.spec.hidden_size
        embedding = s.input_size * s.embedding_size if s.input_kind == "embedding" else 0
        head = s.output_size * (H + 1)
        extra = H * len(EXTRA_BIASES.get(s.cell, ()))  # torch's GRU: the candidate's b_hh
        return G * H * (s.input_dim + H + 1) + embedding + head + extra

    def model(self) -> int:
        """The weights arranged for one pass: the one-hot lookup, stacked gate weights."""
        s, GH = self.spec, self.blocks * self.spec.hidden_size
        lookup = s.input_size * GH if s.input_kind == "onehot" else 0
        stacked = GH * (s.input_dim + s.hidden_size) if self.blocks > 1 else 0
        return lookup + stacked

    def tape(self) -> int:
        """h, the pre-activations, the block outputs and their derivatives, per step."""
        T, B, H, GH = self.T, self.B, self.spec.hidden_size, self.blocks * self.spec.hidden_size
        gru = T * B * H  # the candidate's recurrent input, in either GRU form
        cell = {"rnn": 0, "gru": gru, "gru_torch": gru, "lstm": (T + 1) * B * H + 2 * T * B * H}
        return (T + 1) * B * H + 3 * T * B * GH + cell[self.spec.cell]

    def inputs(self) -> int:
        """x_t for every step: one-hot rows, embedding rows or real values."""
        s = self.spec
        width = s.input_size if s.input_kind == "onehot" else s.input_dim
        return self.T * self.B * width

    def forward(self) -> int:
        """A forward pass stepped through: inputs projected, the tape, outputs and losses."""
        T, B, O = self.T, self.B, self.spec.output_size
        GH = self.blocks * self.spec.hidden_size
        return self.model() + T * B * GH + self.tape() + self.inputs() + 2 * T * B * O + 2 * T * B

    def scoring(self) -> int:
        """The metrics of a pass's outputs: log-probabilities and their comparisons."""
        return 2 * self.T * self.B * self.spec.output_size

    def grads_transient(self) -> int:
        """One product per weight over all steps: the one-hot inputs and reshaped states."""
        s = self.spec
        return self.T * self.B * (s.input_size + 2 * s.hidden_size) + 2 * self.params

    def backward(self) -> int:
        """BPTT stepped through: dL/dh and dL/da, and every parameter's gradient per step."""
        T, B, H = self.T, self.B, self.spec.hidden_size
        GH, O = self.blocks * H, self.spec.output_size
        own = self.model() + 2 * T * B * H + T * B * O + T * B * GH + T * self.params
        return own + self.grads_transient() + 8 * H * H

    def flow(self) -> int:
        """The gradient-flow matrix: T x T rows of dL_t/dh_k, before their norms are taken."""
        if self.spec.head == "none":
            return 0
        T, B, H = self.T, self.B, self.spec.hidden_size
        return self.model() + T * B * (self.spec.output_size + H) + T * T * (H + 2) + 4 * T * H

    def training(self) -> int:
        """One training iteration on the fast path (no records kept)."""
        T, B, H = self.T, self.B, self.spec.hidden_size
        GH, O = self.blocks * H, self.spec.output_size
        return (
            self.model()
            + 2 * T * B * GH
            + self.tape()
            + 3 * T * B * O
            + 2 * T * B * H
            + (self.grads_transient() + self.params)
        )

    def diagnostics(self) -> int:
        """The gradient lab's measurements: a pass each way, the flow, T Jacobians."""
        H = self.spec.hidden_size
        return self.forward() + self.backward() + self.flow() + 4 * self.T * H * H

    def flops_forward(self) -> float:
        """Multiply-adds of a forward pass."""
        s, T, B = self.spec, self.T, self.B
        GH = self.blocks * s.hidden_size
        projected = 0 if s.input_kind == "onehot" else GH * s.input_dim
        return T * B * (GH * s.hidden_size + s.output_size * s.hidden_size + projected + 10 * GH)

    def flops_grads(self, steps: int) -> float:
        """Multiply-adds of every parameter's gradient summed over `steps` steps."""
        s = self.spec
        GH = self.blocks * s.hidden_size
        per_step = GH * (s.input_size + 2 * s.hidden_size) + s.output_size * s.hidden_size
        return steps * self.B * per_step


def passes(net: Net, task: Task, config: RunConfig, *, heldout: bool = False) -> list[Unroll]:
    """The nets a run unrolls and over what: its training batch, or the held-out split."""
    if heldout:
        batch = task.heldout_batch(config.seq_len)
    else:
        batch = task.train_batch(np.random.default_rng(0), config.batch_size, config.seq_len)
    B = int(batch.inputs.shape[1])
    # Each part over its own steps: the inputs, then (a decoder) the decoder's inputs.
    steps = [batch.inputs.shape[0]]
    if batch.decoder_inputs is not None:
        steps.append(batch.decoder_inputs.shape[0])
    return [Unroll(spec, int(T), B) for spec, T in zip(net.parts, steps, strict=True)]


def estimate(
    net: Net, task: Task, config: RunConfig, text: str | None = None, held: int = 0
) -> Estimate:
    """The peak memory and the longest request of a run of `net` on `task` under `config`
    (with the pasted `text` it carries, if any, and `held` bytes of uploaded data and model)."""
    nets = passes(net, task, config)
    heldout = passes(net, task, config, heldout=True)
    params = sum(net.params for net in nets)
    kept = params * (1 + OPTIMIZER_SLOTS.get(config.optimizer, 2))
    forward = sum(net.forward() for net in nets)
    backward = sum(net.backward() + net.flow() for net in nets)
    jacobians = sum(4 * net.T * net.spec.hidden_size**2 for net in nets)
    moments = (
        4 * params + forward,  # the update, then the next iteration's forward pass
        sum(net.training() for net in nets),
        sum(net.forward() + net.scoring() for net in heldout),  # held-out evaluation
        backward + jacobians,  # the diagnostics, reusing the finished forward pass
        2 * kept * EXPORT_BYTES_PER_FLOAT // FLOAT,
        20 * max(net.spec.hidden_size for net in nets) ** 2,  # the spectrum
    )
    # The iteration stepped through to its end, or still stepping forward (no BPTT yet) while
    # the diagnostics run a whole pass of their own.
    floats = kept + max(forward + backward + max(moments), 2 * forward + backward + jacobians)
    pasted = 0 if text is None else TEXT_BYTES_PER_CHAR * len(text)
    memory = int(MARGIN * FLOAT * floats) + SESSION_OVERHEAD + pasted + held
    return Estimate(memory, max(request_seconds(nets, heldout).values()))


def request_seconds(nets: list[Unroll], heldout: list[Unroll]) -> dict[str, float]:
    """What each kind of single request of the run takes, estimated: each is done whole by
    one worker, so the longest is how long a neighbour there may wait."""
    steps = sum(net.T for net in nets)
    svd = CUBIC_SECONDS / 3 * max(net.spec.hidden_size for net in nets) ** 3
    forward = sum(net.flops_forward() for net in nets)
    grads = sum(net.flops_grads(net.T) for net in nets)
    # BPTT stepped through sums every parameter's gradient over steps t..T at each step t.
    stepped_grads = sum(net.flops_grads(net.T) * (net.T + 1) / 2 for net in nets)
    flow = sum(net.T * net.T * net.blocks * net.spec.hidden_size**2 for net in nets)
    walk = STEP_SECONDS * 3 * steps + FLOP_SECONDS * (forward + flow + stepped_grads)
    iteration = STEP_SECONDS * 2 * steps + FLOP_SECONDS * (3 * forward + grads)
    return {
        "train": iteration + _evaluation_seconds(heldout),
        "first_bptt_step": FLOP_SECONDS * (flow + grads) + svd,
        "update": STEP_SECONDS * steps + FLOP_SECONDS * forward + 3 * svd,
        "finish_iteration": walk + steps * svd + 3 * svd,
        "diagnose": walk + FLOP_SECONDS * forward + 2 * steps * svd,
    }


def _evaluation_seconds(heldout: list[Unroll]) -> float:
    """The held-out evaluation a training chunk ends with every so often."""
    steps = sum(net.T for net in heldout)
    seconds = STEP_SECONDS * steps + FLOP_SECONDS * sum(net.flops_forward() for net in heldout)
    if len(heldout) > 1:  # an encoder-decoder decodes each held-out source on its own
        seconds += STEP_SECONDS * heldout[0].B * steps
    return seconds


Weigh = Callable[[RunConfig], Estimate]


def check(config: RunConfig, weigh: Weigh) -> Estimate:
    """Refuse a run over the current allowance, naming a size that would make it fit.

    `weigh` estimates a run of the same task under another config. A run too heavy for this
    worker (but within every budget) raises Misplaced, so it is opened elsewhere instead.
    """
    granted = _allowance.get() or Allowance()
    needed = weigh(config)
    if granted.session_bytes is not None and needed.bytes > granted.session_bytes:
        raise _over(config, weigh, needed, granted.session_bytes, "per-session")
    if granted.seconds is not None and needed.seconds > granted.seconds:
        raise Misplaced(f"a request of this run takes about {needed.seconds:.3f} s")
    if granted.claim is not None:
        left = granted.claim(needed.bytes)
        if left is not None:
            raise _over(config, weigh, needed, left, "free")
    return needed


def _over(
    config: RunConfig, weigh: Weigh, needed: Estimate, limit: int, whose: str
) -> CommandRefused:
    """The refusal: what the run needs, and the largest value of one size that would fit."""
    budget = (
        f"this server's per-session memory budget of {_mb(limit)}"
        if whose == "per-session"
        else f"the {_mb(limit)} of memory this server has left"
    )
    needs = f"this run needs about {_mb(needed.bytes)}"
    offers = [(name, _largest_fit(config, weigh, name, limit)) for name in FIELDS]
    fitting = [(name, value) for name, value in offers if value is not None]
    if not fitting:
        message = f"{needs}, more than {budget}: choose smaller sizes"
        return CommandRefused("over_budget", message, "config")
    # The size that needs the least shrinking (relative to its value) is offered first.
    fitting.sort(key=lambda item: -item[1] / getattr(config, item[0]))
    name, value = fitting[0]
    others = "".join(f"; or {other} at most {fit}" for other, fit in fitting[1:])
    message = f"{name}: at most {value} fits {budget} ({needs}){others}"
    return CommandRefused("over_budget", message, f"config.{name}")


def _largest_fit(config: RunConfig, weigh: Weigh, name: str, limit: int) -> int | None:
    """The largest value of `name` below its current one whose run fits `limit` (None: none)."""
    current = getattr(config, name)
    lowest = 1
    if current <= lowest or not _fits(config, weigh, name, lowest, limit):
        return None
    high = current - 1  # the current value does not fit; binary search below it
    while lowest < high:
        middle = (lowest + high + 1) // 2
        if _fits(config, weigh, name, middle, limit):
            lowest = middle
        else:
            high = middle - 1
    return lowest


def _fits(config: RunConfig, weigh: Weigh, name: str, value: int, limit: int) -> bool:
    return weigh(config.model_copy(update={name: value})).bytes <= limit


def _mb(size: int) -> str:
    """A size for people: MB with at most one decimal."""
    mb = size / 2**20
    return f"{mb:.1f} MB" if mb < 10 else f"{math.ceil(mb)} MB"
