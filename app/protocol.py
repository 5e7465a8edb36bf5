"""The websocket protocol: every message between browser and server, as typed models.

The server validates each incoming command through `parse_command`; tests import the same models;
`/api/protocol.json` and `docs/protocol.md` are generated from them; `static/js/protocol.js` mirrors
the `type` tags (a test keeps the two in step).

Wire format: one JSON text frame per message. Arrays of floats are sent rounded to float32. A
non-finite number (an exploding run) is sent as the string "NaN", "Infinity" or "-Infinity", since
JSON has no such numbers and a browser's JSON.parse rejects a bare NaN.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
Number = float | NonFinite
Vector = list[Number]
Matrix = list[Vector]

Cell = Literal["rnn", "lstm", "gru"]
Activation = Literal["tanh", "relu", "sigmoid", "linear"]
InitScheme = Literal["gaussian", "orthogonal", "identity"]
OptimizerName = Literal["sgd", "momentum", "adagrad", "rmsprop", "adam"]
ClipMode = Literal["none", "norm", "value"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ----------------------------------------------------------- run configuration


class RunConfig(_Strict):
    """Everything that defines a run; with the seed it reproduces the run bit for bit."""

    task: str = Field("hello", min_length=1, max_length=64, description="lesson task name")
    cell: Cell = "rnn"
    activation: Activation = "tanh"
    hidden_size: int = Field(3, ge=1, description="units in h_t")
    embedding_size: int = Field(0, ge=0, description="0 means one-hot inputs")
    seq_len: int = Field(4, ge=1, description="time steps per iteration (T)")
    batch_size: int = Field(1, ge=1)
    init: InitScheme = "gaussian"
    spectral_radius: float | None = Field(None, gt=0, le=10, description="rescale W_hh to this")
    init_scale: float = Field(0.1, gt=0, le=10, description="std of the Gaussian initialisation")
    optimizer: OptimizerName = "adagrad"
    learning_rate: float = Field(0.1, gt=0, le=10)
    clip_mode: ClipMode = "value"
    clip_threshold: float = Field(5.0, gt=0, le=1e6)
    truncation: int | None = Field(None, ge=1, description="truncated BPTT length; null = full")
    temperature: float = Field(1.0, gt=0, le=10)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class Limits(_Strict):
    """Server-side caps a client must respect; sent in the hello frame."""

    max_hidden_size: int
    max_seq_len: int
    max_vocab: int
    max_batch: int
    max_train_iterations: int
    max_message_bytes: int
    max_commands_per_second: float


# ----------------------------------------------------------- commands (client -> server)


class _Command(_Strict):
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
    temperature: float | None = Field(None, gt=0, le=10)


class Sample(_Command):
    """Generate a sequence from the current model."""

    type: Literal["sample"]
    length: int = Field(40, ge=1, le=1000)
    temperature: float = Field(1.0, gt=0, le=10)
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


class BatchState(_Strict):
    """The data of the iteration in progress."""

    inputs: list[Any] = Field(description="(T, B) token ids or (T, B, D) values")
    targets: list[Any] = Field(description="(T, B) token ids or (T, B, O) values")
    loss_mask: Matrix | None = None
    stateful: bool = False
    decoder_inputs: list[Any] | None = None
    source_lengths: list[int] | None = None
    next_cursor: int | None = None


class SessionState(_Strict):
    """A whole session, as `export` sends it and `import` takes it back.

    Floats are float64 written exactly; the generator's 128-bit state travels as decimal strings
    (a browser's JSON.parse would round big integers).
    """

    format: Literal["unroll-session"] = "unroll-session"
    protocol_version: int = PROTOCOL_VERSION
    config: RunConfig
    iteration: int = Field(ge=0)
    params: dict[str, Vector | Matrix]
    optimizer: dict[str, Number | Vector | Matrix]
    rng: dict[str, Any] = Field(description="numpy bit generator state")
    cursor: int | None = Field(None, description="position in a streamed corpus")
    text: str | None = Field(None, max_length=50_000, description="pasted text, if used")
    h_carry: Matrix | None = None
    smooth_loss: Number | None = None
    loss_history: Vector = Field(default_factory=list)
    samples_drawn: int = Field(0, ge=0)
    batch: BatchState
    forward_steps: int = Field(0, ge=0, description="forward steps taken in this iteration")
    backward_steps: int = Field(0, ge=0, description="BPTT steps taken in this iteration")


class Import(_Command):
    """Restore a session from an export."""

    type: Literal["import"]
    state: SessionState


# A room (connect to /ws/room/CODE) shows one run to many viewers: everyone joins as a student;
# the room's secret token makes a connection its teacher, the only one whose commands drive it.


class Join(_Command):
    """Take control of the room as its teacher, with the secret token given to its creator."""

    type: Literal["join"]
    token: str = Field(min_length=1, max_length=128, description="the room's control token")


class Fork(_Command):
    """Leave the room with a private copy of its current state, to go on from there alone."""

    type: Literal["fork"]


class EndRoom(_Command):
    """End the room (teacher only): every student's view is told, then closed."""

    type: Literal["end_room"]


Command = Annotated[
    Configure
    | Reset
    | StepForward
    | StepBackward
    | Advance
    | FinishIteration
    | Play
    | Pause
    | Train
    | SetHyper
    | Sample
    | Rescale
    | Diagnose
    | UseText
    | Export
    | Import
    | Join
    | Fork
    | EndRoom,
    Field(discriminator="type"),
]
command_adapter: TypeAdapter[Command] = TypeAdapter(Command)


# ----------------------------------------------------------- frames (server -> client)


class TokenProb(_Strict):
    """One token's probability in a softmax output."""

    token: str
    p: Number


class Hello(_Strict):
    """First frame of every connection."""

    type: Literal["hello"] = "hello"
    protocol_version: int = PROTOCOL_VERSION
    server_version: str
    session_id: str
    limits: Limits
    config: RunConfig
    seed: int
    vocab: list[str]
    seq_len: int
    tokens: list[str] = Field(description="input tokens of the sequence about to be unrolled")
    targets: list[str] = Field(description="target tokens, aligned with `tokens`")
    encoder_len: int = Field(0, description="encoder-decoder: the first steps read the source")


class ForwardFrame(_Strict):
    """One time step: h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), y_t = softmax(W_hy h_t + b_y)."""

    type: Literal["forward"] = "forward"
    iteration: int
    t: int
    seq_len: int
    phase: Literal["encoder", "decoder"] | None = Field(
        None, description="encoder-decoder tasks: which network this step belongs to"
    )
    input_token: str = Field(description="x_t as text: a token, or real values rounded")
    target_token: str = Field(description="the target as text; empty where no loss is counted")
    counted: bool = Field(True, description="whether L_t counts (false on masked steps)")
    h: Vector = Field(description="h_t, shape (H,)")
    a: Vector = Field(description="pre-activation W_xh x_t + W_hh h_{t-1} + b_h, shape (H,)")
    y: Vector = Field(description="y_t: softmax over the vocabulary (V,), or the prediction (O,)")
    top: list[TokenProb] = Field(description="most probable tokens, best first (softmax only)")
    target_prob: Number | None = Field(description="y_t[target] (softmax only)")
    target_value: Vector | None = Field(None, description="the real-valued target (linear only)")
    loss: Number = Field(description="L_t: -log y_t[target], or squared error")
    total_loss: Number = Field(description="sum of L_t so far in this iteration")


class BackwardFrame(_Strict):
    """One BPTT step, walking from t = T-1 down to 0."""

    type: Literal["backward"] = "backward"
    iteration: int
    t: int
    phase: Literal["encoder", "decoder"] | None = None
    dh: Vector = Field(description="dL/dh_t, shape (H,)")
    dh_norm: Number
    jacobian_norm: Number = Field(description="largest singular value of dh_t/dh_{t-1}")
    flow_row: Vector = Field(description="||dL_t/dh_k|| for k = 0..t")


class UpdateFrame(_Strict):
    """The parameter update closing an iteration."""

    type: Literal["update"] = "update"
    iteration: int
    loss: Number
    grad_norms: dict[str, Number]
    norm_before_clip: Number
    norm_after_clip: Number = Field(description="norm of the gradient the update used")
    clipped: bool
    finite: bool = Field(description="false when the gradients held inf/NaN and were not applied")
    smooth_loss: Number = Field(description="exponential moving average, 0.999 as min-char-rnn")
    perplexity: Number | None = Field(description="exp(smooth_loss / T), per step (softmax only)")


class SequenceFrame(_Strict):
    """A new iteration begins: the sequence about to be unrolled."""

    type: Literal["sequence"] = "sequence"
    iteration: int
    seq_len: int
    tokens: list[str]
    targets: list[str] = Field(description="empty where no loss is counted")
    encoder_len: int = Field(0, description="encoder-decoder: the first steps read the source")


class ProgressFrame(_Strict):
    """Training progress, sent every few iterations while training runs."""

    type: Literal["progress"] = "progress"
    iteration: int
    loss: Number = Field(description="total loss of the latest iteration")
    smooth_loss: Number = Field(description="exponential moving average, 0.999 as min-char-rnn")
    perplexity: Number | None = Field(description="exp(smooth_loss / T), per step (softmax only)")
    clipped: int = Field(description="iterations clipped since the previous progress frame")
    skipped: int = Field(description="iterations whose gradients were non-finite and not applied")
    sample: str | None = None
    heldout: dict[str, Number] | None = Field(
        None, description="metrics on the held-out split (loss, accuracy or mse), now and then"
    )


class SpectrumFrame(_Strict):
    """W_hh's spectrum: why gradients vanish or explode (Pascanu, Mikolov & Bengio 2013)."""

    type: Literal["spectrum"] = "spectrum"
    iteration: int
    matrix: str = Field(description="which recurrent matrix: W_hh, or the cell's candidate one")
    eigenvalues_real: Vector
    eigenvalues_imag: Vector
    singular_values: Vector
    spectral_radius: Number
    largest_singular_value: Number
    gamma: Number = Field(description="bound on |f'|: 1 for tanh, 1/4 for sigmoid")
    vanishing_sufficient: bool = Field(description="largest singular value < 1/gamma")


class DiagnosticsFrame(_Strict):
    """A whole forward and backward pass measured at once: why gradients vanish or explode.

    flow[t][k] = ||dL_t/dh_k|| (k <= t); jacobian_norms[t] = sigma_max(dh_t/dh_{t-1}); the bound
    of Pascanu, Mikolov & Bengio (2013) is ||dL_t/dh_k|| <= (gamma * sigma_max(W_hh))^(t-k) *
    ||dL_t/dh_t||.
    """

    type: Literal["diagnostics"] = "diagnostics"
    iteration: int
    seq_len: int
    loss: Number
    flow: Matrix = Field(description="(T, T) lower triangular ||dL_t/dh_k||")
    jacobian_norms: Vector = Field(description="(T,) largest singular value of dh_t/dh_{t-1}")
    dh_norms: Vector = Field(description="(T,) ||dL/dh_t|| of the total loss")
    largest_singular_value: Number = Field(description="sigma_max of the recurrent matrix")
    gamma: Number = Field(description="bound on |f'|")
    saturation: Number = Field(description="mean |f'(a_t)| over units and steps (tanh: 1 - h^2)")


class SampleFrame(_Strict):
    """Text generated by the current model."""

    type: Literal["sample"] = "sample"
    iteration: int
    prime: str
    text: str
    temperature: float


class ExportFrame(_Strict):
    """The whole session as JSON: config, seed, weights, optimizer, generator and history."""

    type: Literal["export"] = "export"
    state: SessionState


class RoomFrame(_Strict):
    """Your seat in a room: sent on joining, and to the teacher as students come and go."""

    type: Literal["room"] = "room"
    code: str = Field(description="the short join code")
    role: Literal["teacher", "student"]
    students: int = Field(description="students watching (kept current for the teacher)")
    join_url: str = Field(description="the link students open")


class RoomClosed(_Strict):
    """The room is over (or never existed); the server closes the connection after this."""

    type: Literal["room_closed"] = "room_closed"
    code: str
    reason: Literal["ended", "expired", "not_found"]
    message: str


class Error(_Strict):
    """A command was refused; the session goes on as it was."""

    type: Literal["error"] = "error"
    code: Literal[
        "invalid_json",
        "invalid_message",
        "unknown_type",
        "too_large",
        "rate_limited",
        "out_of_range",
        "bad_phase",
        "server_busy",
        "forbidden",
        "internal",
    ]
    field: str | None = Field(None, description="dotted path of the offending field")
    message: str
    command_id: int | None = None


class Ack(_Strict):
    """A command was accepted and carried out."""

    type: Literal["ack"] = "ack"
    command: str
    command_id: int | None = None


Frame = Annotated[
    Hello
    | SequenceFrame
    | ForwardFrame
    | BackwardFrame
    | UpdateFrame
    | ProgressFrame
    | SpectrumFrame
    | DiagnosticsFrame
    | SampleFrame
    | ExportFrame
    | RoomFrame
    | RoomClosed
    | Error
    | Ack,
    Field(discriminator="type"),
]
frame_adapter: TypeAdapter[Frame] = TypeAdapter(Frame)


def _tags(tagged_union: Any) -> tuple[str, ...]:
    """The `type` literals of a discriminated union, in declaration order."""
    members = get_args(get_args(tagged_union)[0])
    return tuple(get_args(m.model_fields["type"].annotation)[0] for m in members)


COMMAND_TYPES = _tags(Command)
FRAME_TYPES = _tags(Frame)

_RANGE_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_too_short",
    "string_too_long",
}


def parse_command(raw: str | bytes, max_bytes: int, max_import_bytes: int = 0) -> Command | Error:
    """Decode and validate a client message; anything wrong becomes an Error naming the field.

    Only an `import` may be larger than `max_bytes` (up to `max_import_bytes`): a saved session
    carries its weights.
    """
    size = len(raw.encode()) if isinstance(raw, str) else len(raw)
    if size > max(max_bytes, max_import_bytes):
        return Error(code="too_large", message=f"message is {size} bytes; limit {max_bytes}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return Error(code="invalid_json", message=f"not valid JSON: {exc}")
    if size > max_bytes and not (isinstance(data, dict) and data.get("type") == "import"):
        return Error(code="too_large", message=f"message is {size} bytes; limit {max_bytes}")
    command_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(command_id, int) or isinstance(command_id, bool):
        command_id = None
    try:
        return command_adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        kind = first["type"]
        loc = [str(part) for part in first["loc"]]
        known = ", ".join(COMMAND_TYPES)
        if kind == "model_attributes_type":
            message = "a command must be a JSON object with a 'type' field"
            return Error(code="invalid_message", message=message, command_id=command_id)
        if kind == "union_tag_not_found":
            message = f"missing 'type'; known types: {known}"
            return Error(
                code="invalid_message", field="type", message=message, command_id=command_id
            )
        if kind == "union_tag_invalid":
            message = f"unknown command type {data.get('type')!r}; known types: {known}"
            return Error(code="unknown_type", field="type", message=message, command_id=command_id)
        # The first loc entry is the matched tag (e.g. "configure"); the rest is the field path.
        field = ".".join(loc[1:]) or None
        code = "out_of_range" if kind in _RANGE_ERRORS else "invalid_message"
        return Error(code=code, field=field, message=first["msg"], command_id=command_id)


# ----------------------------------------------------------- encoding


def wire_number(x: float) -> Number:
    """A float as sent: itself if finite, else its marker string."""
    value = float(x)
    if np.isfinite(value):
        return value
    if np.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def wire_array(values: Any, dtype: type[np.floating[Any]] = np.float32) -> Any:
    """An array as sent: float32 by default (exact float64 for exports), markers for inf/NaN."""
    array = np.asarray(values, dtype=dtype)
    if np.isfinite(array).all():
        return array
    # Rare path (an exploding run): fall back to Python lists so markers can sit beside numbers.
    if array.ndim > 1:
        return [wire_array(row, dtype) for row in array]
    return [wire_number(x) for x in array.tolist()]


def from_wire(values: Any) -> np.ndarray:
    """The inverse of wire_array, at float64 (numpy reads "NaN", "Infinity" and "-Infinity")."""
    return np.asarray(values, dtype=np.float64)


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.__dict__
    raise TypeError(f"cannot encode {type(obj).__name__}")


def encode(frame: BaseModel) -> bytes:
    """Encode a frame once, as UTF-8 JSON bytes; numpy arrays and scalars are encoded natively."""
    return orjson.dumps(frame, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)


def json_schema() -> dict[str, Any]:
    """The protocol as one JSON Schema document: commands, frames and the run configuration."""
    return {
        "title": "Unroll websocket protocol",
        "protocol_version": PROTOCOL_VERSION,
        "commands": command_adapter.json_schema(),
        "frames": frame_adapter.json_schema(),
    }
