"""Frames, server to client: each a model tagged by its `type`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from app.protocol.classroom import RoomReply
from app.protocol.commands import SessionState
from app.protocol.config import Limits, RunConfig, Strict
from app.protocol.uploads import UploadInfo
from app.protocol.wire import PROTOCOL_VERSION, Matrix, Number, Vector


class TokenProb(Strict):
    """One token's probability in a softmax output."""

    token: str
    p: Number


class Hello(Strict):
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
    tokens: list[str] = Field(
        description="input tokens of the sequence about to be unrolled; empty for real inputs"
    )
    targets: list[str] = Field(
        description="target tokens, aligned with `tokens`; empty for a linear head"
    )
    encoder_len: int = Field(0, description="encoder-decoder: the first steps read the source")
    input_values: Matrix | None = Field(
        None, description="(T, D) the real input vectors, for real-valued inputs (else null)"
    )
    target_values: list[Vector | None] | None = Field(
        None, description="linear head: the (O,) target per step, null where no loss counts"
    )
    upload: UploadInfo | None = Field(None, description="the uploaded data the run learns, if any")


class ForwardFrame(Strict):
    """One time step: h_t = f(W_xh x_t + W_hh h_{t-1} + b_h), y_t = softmax(W_hy h_t + b_y)."""

    type: Literal["forward"] = "forward"
    iteration: int
    t: int
    seq_len: int
    phase: Literal["encoder", "decoder"] | None = Field(
        None, description="encoder-decoder tasks: which network this step belongs to"
    )
    input_token: str = Field(description="x_t's token; empty for real-valued inputs")
    x: Vector | None = Field(None, description="x_t for real-valued inputs, shape (D,) (else null)")
    target_token: str = Field(
        description="the target token; empty where no loss is counted, or for a linear head"
    )
    counted: bool = Field(True, description="whether L_t counts (false on masked steps)")
    h: Vector = Field(description="h_t, shape (H,)")
    a: Vector = Field(description="pre-activation W_xh x_t + W_hh h_{t-1} + b_h, shape (H,)")
    y: Vector = Field(description="y_t: softmax over the vocabulary (V,), or the prediction (O,)")
    top: list[TokenProb] = Field(description="most probable tokens, best first (softmax only)")
    target_prob: Number | None = Field(description="y_t[target] (softmax only)")
    target_value: Vector | None = Field(None, description="the real-valued target (linear only)")
    loss: Number = Field(description="L_t: -log y_t[target], or squared error")
    total_loss: Number = Field(description="sum of L_t so far in this iteration")
    gates: dict[str, Vector] | None = Field(
        None,
        description="gated cells: each gate's value, shape (H,), keyed by the cell's own names "
        "(LSTM i, f, o, g and the cell state c; GRU z, r and the candidate h_tilde); null for "
        "the vanilla cell",
    )
    terms: Matrix | None = Field(
        None,
        description="a_t split into its terms, rows W_x x_t, W_h h_{t-1} and b, shape (3, H) "
        "(LSTM: the candidate g's; GRU: the candidate h_tilde's, whose middle row is "
        "W_hh (r * h_{t-1}))",
    )


class BackwardFrame(Strict):
    """One BPTT step, walking from t = T-1 down to 0."""

    type: Literal["backward"] = "backward"
    iteration: int
    t: int
    phase: Literal["encoder", "decoder"] | None = None
    dh: Vector = Field(description="dL/dh_t, shape (H,)")
    dh_norm: Number
    jacobian_norm: Number = Field(description="largest singular value of dh_t/dh_{t-1}")
    flow_row: Vector = Field(
        description="||dL_t/dh_k|| for k = 0..t (encoder-decoder: the decoder's losses reach "
        "the encoder's states through the context vector; an encoder step's row is zeros)"
    )
    dc: Vector | None = Field(
        None, description="LSTM: dL/dc_t, the gradient along the cell state, shape (H,)"
    )
    dc_norm: Number | None = Field(None, description="LSTM: ||dL/dc_t|| (the batch's, as dh_norm)")


class UpdateFrame(Strict):
    """The parameter update closing an iteration."""

    type: Literal["update"] = "update"
    iteration: int
    loss: Number
    grad_norms: dict[str, Number]
    norm_before_clip: Number
    norm_after_clip: Number = Field(description="norm of the gradient the update used")
    clipped: bool
    finite: bool = Field(description="false when the gradients held inf/NaN and were not applied")
    smooth_loss: Number = Field(
        description="min-char-rnn's smoothed loss: an average with weight 0.999 on the past, "
        "started at a uniform guess's loss (ln V per counted target)"
    )
    perplexity: Number | None = Field(
        description="exp(mean loss per counted target) of the latest iteration (softmax only)"
    )


class SequenceFrame(Strict):
    """A new iteration begins: the sequence about to be unrolled."""

    type: Literal["sequence"] = "sequence"
    iteration: int
    seq_len: int
    tokens: list[str] = Field(description="input tokens; empty strings for real inputs")
    targets: list[str] = Field(description="empty where no loss is counted, or for a linear head")
    encoder_len: int = Field(0, description="encoder-decoder: the first steps read the source")
    input_values: Matrix | None = Field(
        None, description="(T, D) the real input vectors, for real-valued inputs (else null)"
    )
    target_values: list[Vector | None] | None = Field(
        None, description="linear head: the (O,) target per step, null where no loss counts"
    )


class ReplayFrame(Strict):
    """The iteration in progress run whole at the current weights, the run itself untouched: while
    and after training, what the latest sequence's forward and backward passes look like."""

    type: Literal["replay"] = "replay"
    iteration: int
    sequence: SequenceFrame
    forward: list[ForwardFrame] = Field(description="every forward step, t = 0 .. T-1")
    backward: list[BackwardFrame] = Field(description="every BPTT step, from t = T-1 down")


class ProgressFrame(Strict):
    """Training progress, sent every few iterations while training runs."""

    type: Literal["progress"] = "progress"
    iteration: int
    loss: Number = Field(description="total loss of the latest iteration")
    smooth_loss: Number = Field(
        description="min-char-rnn's smoothed loss: an average with weight 0.999 on the past, "
        "started at a uniform guess's loss (ln V per counted target)"
    )
    perplexity: Number | None = Field(
        description="exp(mean loss per counted target) of the latest iteration (softmax only)"
    )
    clipped: int = Field(description="iterations clipped since the previous progress frame")
    skipped: int = Field(description="iterations whose gradients were non-finite and not applied")
    max_grad_norm: Number | None = Field(
        None, description="the largest global gradient norm before clipping in this stretch"
    )
    heldout: dict[str, Number] | None = Field(
        None, description="metrics on the held-out split (loss, accuracy or mse), now and then"
    )


class HyperFrame(Strict):
    """A room's (or a fork's) knobs were turned mid-run (set_hyper): the run's config now.
    No view resets; the pages' knobs show it (the snapshot's hello carries it too)."""

    type: Literal["hyper"] = "hyper"
    config: RunConfig


class SpectrumFrame(Strict):
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


class DiagnosticsFrame(Strict):
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


class SampleFrame(Strict):
    """Text generated by the current model."""

    type: Literal["sample"] = "sample"
    iteration: int
    prime: str
    text: str
    temperature: float = Field(description="the temperature the text was drawn at")


class ExportFrame(Strict):
    """The whole session as JSON: config, seed, weights, optimizer, generator and history."""

    type: Literal["export"] = "export"
    state: SessionState


class ScriptFrame(Strict):
    """The run as one standalone NumPy script (the reply to export_script)."""

    type: Literal["script"] = "script"
    filename: str
    source: str = Field(description="the Python file: it needs only NumPy")
    first_iteration: int = Field(description="the first iteration it trains (from 1)")
    last_iteration: int


class Error(Strict):
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
        "over_budget",
        "not_found",
    ]
    field: str | None = Field(None, description="dotted path of the offending field")
    message: str
    command_id: int | None = None


class Ack(Strict):
    """A command was accepted and carried out."""

    type: Literal["ack"] = "ack"
    command: str
    command_id: int | None = None


class Queued(Strict):
    """Work of this run waits: behind other sessions' in its worker, or for its client's share
    of the server's CPU. The next frame of the run (or its ack) ends the wait."""

    type: Literal["queued"] = "queued"
    reason: Literal["workers", "cpu"]
    position: int = Field(0, ge=0, description="workers: requests ahead of it; 0: it is running")
    seconds: float = Field(0.0, ge=0, description="cpu: how long until it goes on")


# Grouped by what they show; the tags keep this order (FRAME_TYPES, static/js/protocol.js).
RunFrame = (
    Hello
    | SequenceFrame
    | ForwardFrame
    | BackwardFrame
    | UpdateFrame
    | ProgressFrame
    | ReplayFrame
    | HyperFrame
)
InstrumentFrame = SpectrumFrame | DiagnosticsFrame | SampleFrame | ExportFrame | ScriptFrame
ReplyFrame = RoomReply | Error | Ack | Queued
Frame = Annotated[RunFrame | InstrumentFrame | ReplyFrame, Field(discriminator="type")]
frame_adapter: TypeAdapter[Frame] = TypeAdapter(Frame)
