"""The one training loop, held-out evaluation, and training a preset from scratch.

`train_iterations` is the only loop that trains: the pages (Session.train), the presets' tests
(train, train_preset) and the benchmark all call it, so a preset's stated result is the run a
student starts in the browser. Pure NumPy through the engine; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.engine import Applied
from app.protocol import RunConfig
from app.run.state import RunState
from app.tasks import Task
from app.tasks.presets import Preset
from app.tasks.registry import TASKS


@dataclass
class TrainingReport:
    """What a stretch of training did: the losses, and what the updates met on the way."""

    losses: list[float] = field(default_factory=list)  # training loss per iteration
    clipped: int = 0  # iterations whose gradients were clipped
    skipped: int = 0  # iterations whose gradients were non-finite and not applied
    max_grad_norm: float = 0.0  # largest global gradient norm before clipping

    def add(self, loss: float, update: Applied) -> None:
        """Count one iteration."""
        self.losses.append(float(loss))
        self.clipped += update.clipped
        self.skipped += not update.applied
        self.max_grad_norm = max(self.max_grad_norm, update.norm_before)

    @property
    def last_loss(self) -> float:
        """The latest iteration's loss (NaN before any)."""
        return self.losses[-1] if self.losses else float("nan")


def train_iterations(run: RunState, iterations: int) -> TrainingReport:
    """Train whole iterations on the fast path (no per-step records), each on the run's next
    batch; an iteration already stepped into is trained on from scratch."""
    report = TrainingReport()
    truncation = run.config.truncation
    # An exploding run overflows on purpose; it is counted in `skipped`, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iterations):
            batch = run.current_batch()
            loss, grads, carried = run.net.loss_and_grads(run.params, batch, run.h0(), truncation)
            report.add(loss, run.conclude(loss, grads, carried))
    return report


def evaluate(run: RunState) -> dict[str, float]:
    """Metrics on the held-out split: loss and accuracy (tokens) or MSE (real), and the task's."""
    batch = run.task.heldout_batch(run.config.seq_len)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged run is reported, not warned
        metrics = run.task.score(batch, run.net.outputs(run.params, batch))
        metrics.update(run.net.decoding_metrics(run.params, batch))
    return metrics


def flow_ratio(run: RunState) -> float:
    """||dL_T/dh_0|| / ||dL_T/dh_T|| on the current batch: how much of the last loss's gradient
    reaches step 0 (NaN where the net draws no flow)."""
    flow = run.net.forward(run.params, run.current_batch()).gradient_flow()
    if flow is None:
        return float("nan")
    last = flow[-1]  # [k] = ||dL_T/dh_k||
    return float(last[0] / last[-1]) if last[-1] > 0 else float("nan")


@dataclass
class TrainingResult:
    """A finished run: its state, what training did, and the gradient flow it started with."""

    run: RunState  # its parameters, state carried and stream position, ready to go on
    report: TrainingReport  # the losses, and what the updates met on the way
    initial_flow_ratio: float  # flow_ratio on the first batch, before training

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics now, with the run's bookkeeping beside them."""
        metrics = evaluate(self.run)
        report = self.report
        metrics.update(
            train_loss=report.last_loss,
            clipped=float(report.clipped),
            skipped=float(report.skipped),
            max_grad_norm=report.max_grad_norm,
            initial_flow_ratio=self.initial_flow_ratio,
        )
        return metrics


def train(task: Task, config: Mapping[str, Any], iterations: int) -> TrainingResult:
    """Train `task` from scratch for `iterations` updates as configured (RunConfig fields)."""
    run = RunState.start(task, RunConfig.model_validate(dict(config)))
    with np.errstate(over="ignore", invalid="ignore"):
        initial_flow_ratio = flow_ratio(run)
    return TrainingResult(run, train_iterations(run, iterations), initial_flow_ratio)


def train_preset(preset: Preset, iterations: int | None = None) -> TrainingResult:
    """Train a preset's run for its stated iterations (or as many as asked)."""
    count = preset.iterations if iterations is None else iterations
    return train(TASKS[preset.task], preset.config, count)
