"""The teaching cycle over a run: forward steps, BPTT steps, the update, then the next iteration."""

from __future__ import annotations

from dataclasses import dataclass

from app.engine import Applied, BackwardPass, BackwardStep, ForwardPass, ForwardStep, Gradients
from app.engine.types import Array
from app.run.refusal import CommandRefused
from app.run.state import RunState
from app.run.training import TrainingReport, train_iterations
from app.tasks import Batch


def shown_loss(record: ForwardStep) -> float:
    """L_t of the sequence on screen (the batch's first); 0 for an encoder step."""
    return float(record.losses[0]) if record.losses.size else 0.0


@dataclass
class Iteration:
    """The cursor inside one training iteration."""

    number: int
    batch: Batch
    forward: ForwardPass
    backward: BackwardPass | None = None
    flow: Array | None = None  # (T, T) ||dL_t/dh_k||, where the net draws it
    shown_loss: float = 0.0  # sum of L_t so far for the sequence on screen

    @property
    def encoder_len(self) -> int:
        """Encoder-decoder: how many steps read the source before the decoder starts."""
        return int(self.batch.inputs.shape[0]) if self.batch.decoder_inputs is not None else 0

    @property
    def length(self) -> int:
        """Time steps shown for this iteration (encoder and decoder together)."""
        decoder = self.batch.decoder_inputs
        shown = decoder if decoder is not None else self.batch.inputs
        return self.encoder_len + int(shown.shape[0])

    @property
    def forward_steps(self) -> int:
        """Forward steps taken."""
        return len(self.forward.steps)

    @property
    def backward_steps(self) -> int:
        """BPTT steps taken."""
        return 0 if self.backward is None else len(self.backward.steps)

    def target_row(self, t: int) -> int | None:
        """Which row of the batch's targets step t predicts, or None where no loss counts."""
        row = t - self.encoder_len
        if row < 0:
            return None
        mask = self.batch.loss_mask
        return row if mask is None or mask[row, 0] > 0 else None


@dataclass(frozen=True)
class Update:
    """What closed an iteration: its number and loss, the BPTT gradients and what they did."""

    number: int
    length: int
    loss: float
    gradients: Gradients
    applied: Applied


class Stepper:
    """Walks a run through the teaching cycle one step at a time, or trains it whole."""

    def __init__(self, run: RunState) -> None:
        self.run = run
        self.iteration = self._begin()

    def _begin(self) -> Iteration:
        run = self.run
        batch = run.current_batch()
        return Iteration(run.iteration, batch, run.net.forward(run.params, batch, run.h0()))

    def restart(self) -> None:
        """Start the iteration over on the same data (after the weights changed)."""
        self.iteration = self._begin()

    @property
    def next_move(self) -> str:
        """What the teaching cycle does next: "forward", "backward" or "update"."""
        it = self.iteration
        if not it.forward.done:
            return "forward"
        if it.backward is None or not it.backward.done:
            return "backward"
        return "update"

    def step_forward(self) -> ForwardStep:
        """One time step of the forward pass."""
        it = self.iteration
        if it.forward.done:
            raise CommandRefused(
                "bad_phase", "the forward pass is complete: step backward or finish the iteration"
            )
        record = it.forward.step()
        it.shown_loss += shown_loss(record)
        return record

    def step_backward(self) -> BackwardStep:
        """One time step of BPTT, walking from the last step back."""
        it = self.iteration
        if not it.forward.done:
            remaining = it.length - it.forward_steps
            raise CommandRefused(
                "bad_phase", f"finish the forward pass first ({remaining} steps to go)"
            )
        if it.backward is None:
            # The picture of vanishing and exploding gradients, sent a row per backward step.
            it.flow = it.forward.gradient_flow()
            it.backward = it.forward.backward(self.run.config.truncation)
        if it.backward.done:
            raise CommandRefused("bad_phase", "backpropagation is complete: finish the iteration")
        return it.backward.step()

    def update(self) -> Update:
        """Apply the BPTT gradients (unless non-finite) and begin the next iteration."""
        it = self.iteration
        if it.backward is None or not it.backward.done:
            raise CommandRefused("bad_phase", "finish backpropagation before the update")
        gradients = it.backward.run()
        loss = it.forward.total_loss
        applied = self.run.conclude(loss, gradients.grads, it.forward.carried)
        self.iteration = self._begin()
        return Update(it.number, it.length, loss, gradients, applied)

    def train(self, iterations: int) -> TrainingReport:
        """Whole iterations on the fast path; the iteration in progress is trained from scratch."""
        report = train_iterations(self.run, iterations)
        self.iteration = self._begin()
        return report
