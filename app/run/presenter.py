"""Engine records and run state as protocol frames: what the page draws of the batch's first
sequence. Tokens travel as text, real values as vectors; no number is formatted as text here.

Forward and backward frames are the hot path: built without re-validation, and tests validate
what goes out.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from app import __version__
from app.engine import BackwardStep, ForwardStep, Measurements
from app.engine.types import Array
from app.protocol import (
    BackwardFrame,
    DiagnosticsFrame,
    ForwardFrame,
    Hello,
    Limits,
    Number,
    ProgressFrame,
    SequenceFrame,
    SpectrumFrame,
    TokenProb,
    UpdateFrame,
    wire_array,
    wire_number,
)
from app.run.state import RunState
from app.run.stepper import Iteration, Update, shown_loss
from app.run.training import TrainingReport
from app.tasks import Task

TOP_TOKENS = 5


def _phase(it: Iteration, t: int) -> Literal["encoder", "decoder"] | None:
    """Encoder-decoder: which network step t belongs to."""
    if not it.encoder_len:
        return None
    return "encoder" if t < it.encoder_len else "decoder"


def _input(task: Task, it: Iteration, t: int) -> tuple[str, Array | None]:
    """x_t as shown: (its token, None), or ("", its values) for real-valued inputs."""
    batch = it.batch
    if batch.decoder_inputs is not None and t >= it.encoder_len:
        return task.output_vocab[int(batch.decoder_inputs[t - it.encoder_len, 0])], None
    x = batch.inputs[t, 0]
    if task.info.input_kind == "real":
        return "", x
    return task.input_vocab[int(x)], None


def _target(task: Task, it: Iteration, t: int) -> tuple[str, Array | None]:
    """The target of step t: (its token, None), ("", its values) for a linear head, or ("",
    None) where no loss counts."""
    row = it.target_row(t)
    if row is None:
        return "", None
    y = it.batch.targets[row, 0]
    if task.info.head == "linear":
        return "", y
    return task.output_vocab[int(y)], None


def _vectors(shown: list[tuple[str, Array | None]], real: bool) -> list[Any] | None:
    """The values shown beside the tokens, where values are what the task has (else None)."""
    if not real:
        return None
    return [None if values is None else wire_array(values) for _, values in shown]


def sequence_frame(task: Task, it: Iteration) -> SequenceFrame:
    """The iteration about to be unrolled: its first sequence's inputs and targets."""
    inputs = [_input(task, it, t) for t in range(it.length)]
    targets = [_target(task, it, t) for t in range(it.length)]
    return SequenceFrame(
        iteration=it.number,
        seq_len=it.length,
        tokens=[token for token, _ in inputs],
        targets=[token for token, _ in targets],
        encoder_len=it.encoder_len,
        input_values=_vectors(inputs, task.info.input_kind == "real"),
        target_values=_vectors(targets, task.info.head == "linear"),
    )


def hello_frame(session_id: str, limits: Limits, run: RunState, it: Iteration) -> Hello:
    """The first frame of a connection, and of every new run: the run and its first sequence."""
    shown = sequence_frame(run.task, it).model_dump(exclude={"type", "iteration"})
    return Hello(
        server_version=__version__,
        session_id=session_id,
        limits=limits,
        config=run.config,
        seed=run.config.seed,
        vocab=list(run.task.output_vocab),
        upload=run.upload.info() if run.upload and run.upload.task is run.task else None,
        **shown,
    )


def _top(y: Array, vocab: tuple[str, ...]) -> list[TokenProb]:
    """The most probable tokens of a softmax output, best first."""
    order = np.argsort(-y)[:TOP_TOKENS]
    return [TokenProb.model_construct(token=vocab[i], p=wire_number(y[i])) for i in order]


def _inside(record: ForwardStep) -> dict[str, Any]:
    """The cell's insides for the sequence on screen: the terms of a_t, and the gates (and cell
    state) of a gated cell, converted in one piece (the hot path)."""
    gates = record.gates
    stacked = np.empty((3 + len(gates), record.a.shape[-1]), np.float32)  # as sent
    record.terms(0, out=stacked[:3])
    for row, values in zip(stacked[3:], gates.values(), strict=True):
        row[...] = values[0]
    rows = wire_array(stacked)
    return {"terms": rows[:3], "gates": dict(zip(gates, rows[3:], strict=True)) if gates else None}


def forward_frame(task: Task, it: Iteration, record: ForwardStep) -> ForwardFrame:
    """One forward step of the sequence on screen: h_t, a_t, y_t, its best tokens and L_t, and
    the cell's insides."""
    t = record.t  # across encoder and decoder
    y = record.y[0]  # (V,) probabilities, (O,) prediction, or (0,) for an encoder
    row = it.target_row(t)
    softmax = task.info.head == "softmax"
    token, x = _input(task, it, t)
    target_token, target_value = _target(task, it, t)
    target_prob = None
    if softmax and row is not None:
        target_prob = wire_number(y[int(it.batch.targets[row, 0])])
    return ForwardFrame.model_construct(
        type="forward",
        iteration=it.number,
        t=t,
        seq_len=it.length,
        phase=_phase(it, t),
        input_token=token,
        x=None if x is None else wire_array(x),
        target_token=target_token,
        counted=row is not None,
        h=wire_array(record.h[0]),
        a=wire_array(record.a[0]),
        y=wire_array(y),
        top=_top(y, task.output_vocab) if softmax and y.size else [],
        target_prob=target_prob,
        target_value=None if target_value is None else wire_array(target_value),
        loss=wire_number(shown_loss(record)),
        total_loss=wire_number(it.shown_loss),
        **_inside(record),
    )


def backward_frame(it: Iteration, record: BackwardStep) -> BackwardFrame:
    """One BPTT step: dL/dh_t (and an LSTM's dL/dc_t), their norms, the step Jacobian's norm and
    the flow row of L_t."""
    t = record.t
    flow_row = [] if it.flow is None else wire_array(it.flow[t, : t + 1])
    dc, dc_norm = record.dc, record.dc_norm
    return BackwardFrame.model_construct(
        type="backward",
        iteration=it.number,
        t=t,
        phase=_phase(it, t),
        dh=wire_array(record.dh[0]),
        dh_norm=wire_number(record.dh_norm),
        jacobian_norm=wire_number(record.jacobian_norm),
        flow_row=flow_row,
        dc=None if dc is None else wire_array(dc[0]),
        dc_norm=None if dc_norm is None else wire_number(dc_norm),
    )


def smoothed(run: RunState) -> tuple[Number, Number | None]:
    """min-char-rnn's smoothed loss, and the perplexity of the latest iteration (tokens only)."""
    smooth = run.smooth_loss if run.smooth_loss is not None else float("nan")
    perplexity = run.perplexity()
    return wire_number(smooth), None if perplexity is None else wire_number(perplexity)


def update_frame(run: RunState, update: Update) -> UpdateFrame:
    """The parameter update closing an iteration."""
    smooth, perplexity = smoothed(run)
    applied = update.applied
    return UpdateFrame(
        iteration=update.number,
        loss=wire_number(update.loss),
        grad_norms={name: wire_number(n) for name, n in update.gradients.norms.items()},
        norm_before_clip=wire_number(applied.norm_before),
        norm_after_clip=wire_number(applied.norm_after),
        clipped=applied.clipped,
        finite=applied.applied,
        smooth_loss=smooth,
        perplexity=perplexity,
    )


def progress_frame(
    run: RunState, it: Iteration, report: TrainingReport, heldout: dict[str, Number] | None
) -> ProgressFrame:
    """Training progress after a stretch of whole iterations."""
    smooth, perplexity = smoothed(run)
    return ProgressFrame(
        iteration=it.number,
        loss=wire_number(report.last_loss),
        smooth_loss=smooth,
        perplexity=perplexity,
        clipped=report.clipped,
        skipped=report.skipped,
        max_grad_norm=wire_number(report.max_grad_norm),
        heldout=heldout,
    )


def metrics_frame(metrics: dict[str, float]) -> dict[str, Number]:
    """Metrics as sent."""
    return {name: wire_number(value) for name, value in metrics.items()}


def spectrum_frame(run: RunState, iteration: int) -> SpectrumFrame:
    """Eigenvalues and singular values of the recurrent matrix, with the Pascanu bound."""
    diag = run.net.spectrum(run.params)
    return SpectrumFrame(
        iteration=iteration,
        matrix=run.net.recurrent_name,
        eigenvalues_real=wire_array(diag.eigenvalues.real),
        eigenvalues_imag=wire_array(diag.eigenvalues.imag),
        singular_values=wire_array(diag.singular_values),
        spectral_radius=wire_number(diag.spectral_radius),
        largest_singular_value=wire_number(diag.largest_singular_value),
        gamma=wire_number(diag.gamma),
        vanishing_sufficient=bool(diag.vanishing_sufficient),
    )


def diagnostics_frame(run: RunState, it: Iteration, measured: Measurements) -> DiagnosticsFrame:
    """A whole forward and backward pass measured at once, beside the Pascanu bound."""
    diag = run.net.spectrum(run.params)
    return DiagnosticsFrame(
        iteration=it.number,
        seq_len=it.length,
        loss=wire_number(measured.loss),
        flow=wire_array(measured.flow),
        jacobian_norms=wire_array(measured.jacobian_norms),
        dh_norms=wire_array(measured.dh_norms),
        largest_singular_value=wire_number(diag.largest_singular_value),
        gamma=wire_number(diag.gamma),
        saturation=wire_number(measured.saturation),
    )
