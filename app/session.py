"""One running simulation, as a facade over its parts (app.run): every method returns the frames.

Synchronous and socket-free, so the whole teaching flow (forward step by step, BPTT step by step,
update) is testable without a server. The run's state and its cursor live in a Stepper; starting
over (reset, configure, use_text, import) builds a fresh one and swaps it in only once it stands,
so a refusal leaves the old run untouched.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np
from pydantic import BaseModel

from app.export import script_frame
from app.inputs import InputError
from app.protocol import (
    BackwardFrame,
    DiagnosticsFrame,
    ExportFrame,
    ExportScript,
    ForwardFrame,
    Hello,
    Limits,
    Number,
    ProgressFrame,
    ReplayFrame,
    RunConfig,
    SampleFrame,
    ScriptFrame,
    SequenceFrame,
    SessionState,
    SetHyper,
    SpectrumFrame,
    UseUpload,
)
from app.protocol import Sample as SampleCommand
from app.run import presenter
from app.run.own import own_data
from app.run.refusal import CommandRefused
from app.run.sampling import sample_text
from app.run.shelf import Shelf
from app.run.snapshot import export_frame, restore
from app.run.state import PASTED, RunState, open_run
from app.run.stepper import Iteration, Stepper
from app.run.training import evaluate

__all__ = ["CommandRefused", "Session"]

P = ParamSpec("P")
R = TypeVar("R")
HELDOUT_EVERY = 25  # iterations between held-out evaluations while training


def _quiet_overflow(method: Callable[P, R]) -> Callable[P, R]:
    """An exploding run overflows on purpose: its inf/NaN are shown as such, not warned about."""

    @functools.wraps(method)
    def quiet(*args: P.args, **kwargs: P.kwargs) -> R:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return method(*args, **kwargs)

    return quiet


class Session:
    """A model learning a task, advanced one step, one iteration or many iterations at a time."""

    def __init__(self, config: RunConfig, limits: Limits, *, text: str | None = None) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.limits = limits
        self.shelf = Shelf()  # files uploaded for this session (its worker reads them onto it)
        self.stepper = Stepper(open_run(config, limits, text))

    @property
    def run(self) -> RunState:
        """The run: task, net, parameters, optimizer, generators and history."""
        return self.stepper.run

    @property
    def config(self) -> RunConfig:
        """The run's configuration."""
        return self.run.config

    @property
    def iteration(self) -> Iteration:
        """The cursor inside the current iteration."""
        return self.stepper.iteration

    # ----------------------------------------------------------------- what is on screen

    def hello(self) -> Hello:
        """The first frame of a connection, and of every new run."""
        return presenter.hello_frame(self.id, self.limits, self.run, self.iteration)

    def sequence(self) -> SequenceFrame:
        """Announce the iteration about to be unrolled (its first sequence)."""
        return presenter.sequence_frame(self.run.task, self.iteration)

    @_quiet_overflow
    def spectrum(self) -> SpectrumFrame:
        """Eigenvalues and singular values of the recurrent matrix, with the Pascanu bound."""
        return presenter.spectrum_frame(self.run, self.iteration.number)

    # ----------------------------------------------------------------- the teaching cycle

    @_quiet_overflow
    def step_forward(self) -> ForwardFrame:
        """One time step of the forward pass; the frame shows the batch's first sequence."""
        record = self.stepper.step_forward()
        return presenter.forward_frame(self.run.task, self.iteration, record)

    @_quiet_overflow
    def step_backward(self) -> BackwardFrame:
        """One time step of backpropagation through time, walking from the last step back."""
        record = self.stepper.step_backward()
        return presenter.backward_frame(self.iteration, record)

    @_quiet_overflow
    def _update(self) -> list[BaseModel]:
        """The update closing the iteration, then the next iteration's sequence and spectrum."""
        update = presenter.update_frame(self.run, self.stepper.update())
        return [update, self.sequence(), self.spectrum()]

    def advance(self) -> list[BaseModel]:
        """The next thing in the teaching cycle: forward steps, backward steps, update, repeat."""
        move = self.stepper.next_move
        if move == "forward":
            return [self.step_forward()]
        if move == "backward":
            return [self.step_backward()]
        return self._update()

    def finish_iteration(self) -> list[BaseModel]:
        """Rest of the forward pass, all of BPTT, then the update; every frame along the way."""
        frames: list[BaseModel] = []
        while self.stepper.next_move != "update":
            frames += self.advance()
        return frames + self._update()

    @_quiet_overflow
    def train(self, iterations: int) -> ProgressFrame:
        """Run whole iterations on the fast path (no per-step records); report progress.

        An iteration already stepped into is abandoned: its batch is trained on from scratch.
        """
        start = self.iteration.number
        report = self.stepper.train(iterations)
        number = self.iteration.number
        heldout = None
        # Held-out metrics on the first chunk and every HELDOUT_EVERY iterations after.
        if start == 0 or number // HELDOUT_EVERY > start // HELDOUT_EVERY:
            heldout = self.evaluate()
        return presenter.progress_frame(self.run, self.iteration, report, heldout)

    def evaluate(self) -> dict[str, Number]:
        """Metrics on the held-out split: "predict on unseen data", the loop's last step."""
        return presenter.metrics_frame(evaluate(self.run))

    @_quiet_overflow
    def replay(self) -> ReplayFrame:
        """The iteration in progress run whole, forward then BPTT, on a copy of the cursor: the
        views' picture of a run while and after it trains. The run itself does not move."""
        shadow = Stepper(self.run)  # the same batch and weights; nothing of the run changes
        it, task = shadow.iteration, self.run.task
        forward = []
        while shadow.next_move == "forward":
            forward.append(presenter.forward_frame(task, it, shadow.step_forward()))
        backward = []
        while shadow.next_move == "backward":
            backward.append(presenter.backward_frame(it, shadow.step_backward()))
        return ReplayFrame.model_construct(
            type="replay",
            iteration=it.number,
            sequence=presenter.sequence_frame(task, it),
            forward=forward,
            backward=backward,
        )

    # ----------------------------------------------------------------- starting over

    def reset(self) -> Hello:
        """Start over with the same configuration and seed."""
        return self.configure(self.config)

    def configure(self, config: RunConfig) -> Hello:
        """Start over with a new configuration; on refusal the old run goes on untouched."""
        self.stepper = Stepper(open_run(config, self.limits, self.run.text, self.run.upload))
        return self.hello()

    def use_text(self, text: str) -> Hello:
        """Switch to a character model of pasted text, keeping the other settings."""
        config = self.config.model_copy(update={"task": PASTED})
        self.stepper = Stepper(open_run(config, self.limits, text, self.run.upload))
        return self.hello()

    def use_upload(self, command: UseUpload) -> Hello:
        """Switch to uploaded data (its task's defaults), run by a loaded model if one is named."""
        data = self.shelf.data_file(command.upload_id)
        model = None if command.model_id is None else self.shelf.model_file(command.model_id)
        try:
            upload = own_data(data, model, command.target, command.inputs)
        except InputError as exc:
            raise CommandRefused("out_of_range", str(exc), exc.field) from exc
        run = open_run(upload.config(self.config), self.limits, self.run.text, upload)
        if upload.model is not None and (run.upload is None or run.upload.model is None):
            raise CommandRefused("out_of_range", str(upload.model.misfit(run.net)), "model_id")
        self.stepper = Stepper(run)
        return self.hello()

    def import_state(self, state: SessionState) -> Hello:
        """Become the exported session; on refusal the current run goes on untouched."""
        self.stepper = restore(state, self.limits)
        return self.hello()

    def export(self) -> ExportFrame:
        """Everything needed to continue this run exactly, as JSON-able values."""
        return export_frame(self.run, self.iteration)

    def export_script(self, command: ExportScript) -> ScriptFrame:
        """The run as one standalone NumPy script, from its start or from now."""
        try:
            return script_frame(self.run, command.iterations, command.start)
        except InputError as exc:
            raise CommandRefused("out_of_range", exc.message, exc.field) from exc

    # ----------------------------------------------------------------- knobs and instruments

    def set_hyper(self, command: SetHyper) -> None:
        """Change learning rate, clipping or the sampling temperature without a reset."""
        self.run.retune(command.model_dump(exclude_none=True, exclude={"type", "id"}))

    def rescale(self, radius: float) -> list[BaseModel]:
        """Rescale the recurrent matrix to a spectral radius and start this iteration over."""
        matrix = self.run.params[self.run.net.recurrent_name]
        current = self.run.net.spectrum(self.run.params).spectral_radius
        if not np.isfinite(current) or current == 0.0:
            message = f"cannot rescale a recurrent matrix with spectral radius {current}"
            raise CommandRefused("bad_phase", message, "spectral_radius")
        matrix *= radius / current  # same eigenvectors, every eigenvalue scaled
        self.stepper.restart()
        return [self.sequence(), self.spectrum()]

    @_quiet_overflow
    def diagnose(self) -> DiagnosticsFrame:
        """Forward and backward over the current sequence, measured whole; the run is untouched."""
        run, it = self.run, self.iteration
        forward = it.forward if it.forward.done else run.net.forward(run.params, it.batch, run.h0())
        try:
            measured = forward.measure()
        except ValueError as exc:
            raise CommandRefused("bad_phase", str(exc)) from exc
        return presenter.diagnostics_frame(run, it, measured)

    def sample(self, command: SampleCommand) -> SampleFrame:
        """Generate text; the sampler has its own generator so training is not disturbed."""
        run = self.run
        temperature = run.config.temperature if command.temperature is None else command.temperature
        try:
            text = sample_text(
                run.task,
                run.net,
                run.params,
                run.sampler(),
                command.length,
                prime=command.prime,
                temperature=temperature,
            )
        except ValueError as exc:
            field = "prime" if "vocabulary" in str(exc) else None
            code = "out_of_range" if field else "bad_phase"
            raise CommandRefused(code, str(exc), field) from exc
        run.samples_drawn += 1
        return SampleFrame(
            iteration=self.iteration.number,
            prime=command.prime,
            text=text,
            temperature=temperature,
        )
