"""Commands, client to server: each a model tagged by its `type`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, TypeAdapter

from app.engine import ClipMode
from app.protocol.classroom import RoomCommand
from app.protocol.config import Exact, RunConfig
from app.protocol.generator import GeneratorState
from app.protocol.uploads import DataPosition, UploadState
from app.protocol.wire import PROTOCOL_VERSION, Count, Matrix, Number, Vector


class _Command(Exact):
    """What every command carries."""

    id: int | None = Field(None, description="echoed in the reply, so a client can match them")


class Configure(_Command):
    """Replace the run's configuration and start over."""

    type: Literal["configure"]
    config: RunConfig


class Reset(_Command):
    """Start the run over with the same configuration and seed."""

    type: Literal["reset"]


class StepForward(_Command):
    """Run one time step of the forward pass."""

    type: Literal["step_forward"]


class StepBackward(_Command):
    """Run one time step of backpropagation through time."""

    type: Literal["step_backward"]


class Advance(_Command):
    """The next step of the teaching cycle: forward steps, then BPTT steps, then the update."""

    type: Literal["advance"]


class FinishIteration(_Command):
    """Finish the current iteration: rest of forward, all of backward, then the update."""

    type: Literal["finish_iteration"]


class Play(_Command):
    """Animate steps continuously at a given speed until paused."""

    type: Literal["play"]
    steps_per_second: float = Field(2.0, gt=0, le=120)


class Pause(_Command):
    """Stop playing or training at once."""

    type: Literal["pause"]


class Train(_Command):
    """Run N full iterations in the background, streaming progress."""

    type: Literal["train"]
    iterations: int = Field(100, ge=1)


class SetHyper(_Command):
    """Change learning rate, clipping or sampling temperature mid-run, without a reset."""

    type: Literal["set_hyper"]
    learning_rate: float | None = Field(None, gt=0, le=10)
    clip_mode: ClipMode | None = None
    clip_threshold: float | None = Field(None, gt=0, le=1e6)
    temperature: float | None = Field(
        None, gt=0, le=10, description="the run's sampling temperature (config.temperature)"
    )


class Sample(_Command):
    """Generate a sequence from the current model."""

    type: Literal["sample"]
    length: int = Field(40, ge=1, le=1000)
    temperature: float | None = Field(
        None, gt=0, le=10, description="null: the run's config.temperature"
    )
    prime: str = Field("", max_length=200, description="text to feed before sampling")


class Rescale(_Command):
    """Rescale the recurrent matrix to a spectral radius, keeping its eigenvectors (lab knob)."""

    type: Literal["rescale"]
    spectral_radius: float = Field(gt=0, le=10)


class Diagnose(_Command):
    """Measure how gradients flow through the current sequence, without stepping the run."""

    type: Literal["diagnose"]


class UseText(_Command):
    """Learn a character language model of the text the user pastes."""

    type: Literal["use_text"]
    text: str = Field(min_length=1, max_length=50_000)


class Export(_Command):
    """Ask for the whole session (config, seed, weights, history) as JSON."""

    type: Literal["export"]


class UseUpload(_Command):
    """Learn from a file uploaded over HTTP (a text or CSV file), with a loaded model if named."""

    type: Literal["use_upload"]
    upload_id: str = Field(min_length=1, max_length=64, description="the data file's upload id")
    model_id: str | None = Field(
        None, min_length=1, max_length=64, description="a weights upload's id: run that model"
    )
    target: str | None = Field(
        None, max_length=100, description="CSV: the column to forecast (default: the last)"
    )
    inputs: list[str] | None = Field(
        None, max_length=64, description="CSV: the columns read (default: the target's own past)"
    )


class ExportScript(_Command):
    """Ask for the run as one standalone NumPy script that prints the server's losses."""

    type: Literal["export_script"]
    iterations: int = Field(100, ge=1, le=100_000, description="iterations the script trains")
    start: Literal["seed", "now"] = Field(
        "seed", description="from the run's start (its seed, or a loaded model), or from now"
    )


TokenIds = list[list[Count]]  # (T, B) token ids


class BatchState(Exact):
    """The data of the iteration in progress."""

    inputs: TokenIds | list[Matrix] = Field(description="(T, B) token ids or (T, B, D) values")
    targets: TokenIds | list[Matrix] = Field(description="(T, B) token ids or (T, B, O) values")
    loss_mask: Matrix | None = None
    stateful: bool = False
    decoder_inputs: TokenIds | None = None
    source_lengths: list[Count] | None = None
    next_cursor: Count | None = None


StateKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_./]{0,63}$")]


class SessionState(Exact):
    """A whole session, as `export` sends it and `import` takes it back.

    Floats are float64 written exactly; the generator's 128-bit state travels as decimal strings
    (a browser's JSON.parse would round big integers), and every count is at most 2^53 - 1.
    """

    format: Literal["unroll-session"] = "unroll-session"
    protocol_version: int = Field(PROTOCOL_VERSION, ge=1, le=PROTOCOL_VERSION)
    config: RunConfig
    iteration: Count
    params: dict[StateKey, Vector | Matrix] = Field(max_length=64)
    optimizer: dict[StateKey, Count | Number | Vector | Matrix] = Field(
        max_length=256, description="lr, t, hyperparameters and slot arrays (`slot/param`)"
    )
    rng: GeneratorState = Field(description="the data generator's state")
    cursor: Count | None = Field(None, description="position in a streamed corpus")
    text: str | None = Field(None, max_length=50_000, description="pasted text, if used")
    h_carry: Matrix | None = None
    smooth_loss: Number | None = None
    loss_history: Vector = Field(default_factory=list)
    samples_drawn: Count = 0
    batch: BatchState
    forward_steps: Count = Field(0, description="forward steps taken in this iteration")
    backward_steps: Count = Field(0, description="BPTT steps taken in this iteration")
    upload: UploadState | None = Field(None, description="the uploaded data the run learns")
    drawn_from: DataPosition | None = Field(
        None, description="the data's position before this iteration's batch was drawn"
    )


class Import(_Command):
    """Restore a session from an export."""

    type: Literal["import"]
    state: SessionState


# Grouped by what they do; the tags keep this order (COMMAND_TYPES, static/js/protocol.js).
CycleCommand = Configure | Reset | StepForward | StepBackward | Advance | FinishIteration
JobCommand = Play | Pause | Train | SetHyper | Sample | Rescale | Diagnose
RunCommand = UseText | Export | Import | UseUpload | ExportScript
Command = Annotated[
    CycleCommand | JobCommand | RunCommand | RoomCommand, Field(discriminator="type")
]
command_adapter: TypeAdapter[Command] = TypeAdapter(Command)
