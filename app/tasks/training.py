"""A small seeded training loop and held-out evaluation, shared by the tests and the web layer.

It draws as the session does (parameters from the weights generator, then every batch from the
data generator), so a preset trained here is the run a student starts in the browser. Pure
NumPy through the engine; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.engine import (
    Forward,
    InitSpec,
    ModelSpec,
    Optimizer,
    clip_gradients,
    global_norm,
    gradient_flow,
    init_params,
    loss_and_grads,
    make_optimizer,
    sample,
)
from app.engine.seq2seq import (
    Seq2SeqForward,
    Seq2SeqSpec,
    init_seq2seq_params,
    seq2seq_decode,
    seq2seq_loss_and_grads,
)
from app.tasks.base import EOS, SOS, Batch, Task
from app.tasks.presets import Preset
from app.tasks.registry import TASKS

Params = dict[str, np.ndarray]
Spec = ModelSpec | Seq2SeqSpec


def model_spec(task: Task, config: Mapping[str, Any]) -> Spec:
    """The engine spec a run of `task` with `config` builds (as the session does)."""
    info = task.info
    embedding = int(config["embedding_size"])
    if info.architecture == "encoder_decoder":
        kind = "embedding" if embedding else "onehot"
        return Seq2SeqSpec(
            cell=config["cell"],
            activation=config["activation"],
            source_kind=kind,
            source_size=len(task.input_vocab),
            target_kind=kind,
            target_size=len(task.output_vocab),
            embedding_size=embedding,
            hidden_size=int(config["hidden_size"]),
            sos=task.output_vocab.index(SOS),
            eos=task.output_vocab.index(EOS),
        )
    return ModelSpec(
        cell=config["cell"],
        activation=config["activation"],
        input_kind="embedding" if embedding else info.input_kind,
        input_size=len(task.input_vocab) or info.input_size,
        embedding_size=embedding,
        hidden_size=int(config["hidden_size"]),
        output_size=len(task.output_vocab) or info.output_size,
        head=info.head,
    )


def init_spec(config: Mapping[str, Any]) -> InitSpec:
    """The initialisation a config asks for."""
    return InitSpec(
        scheme=config["init"], spectral_radius=config["spectral_radius"], scale=config["init_scale"]
    )


DATA_STREAM = 2  # the data generator's key beside the seed ([seed, 1, n] is the sampler's)


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(weights, data) generators of a run: separate, so runs that differ only in their model
    (RNN vs LSTM, another hidden size) still see exactly the same sequences."""
    return np.random.default_rng(seed), np.random.default_rng([seed, DATA_STREAM])


def initial_params(spec: Spec, config: Mapping[str, Any], rng: np.random.Generator) -> Params:
    """Fresh parameters, drawn first from the run's generator."""
    if isinstance(spec, Seq2SeqSpec):
        return init_seq2seq_params(spec, init_spec(config), rng)
    return init_params(spec, init_spec(config), rng)


def batch_loss_and_grads(
    spec: Spec, params: Params, batch: Batch, h0: np.ndarray | None, truncation: int | None
) -> tuple[float, dict[str, np.ndarray], np.ndarray | None]:
    """(loss, gradients, carried state) of one batch, for either kind of model."""
    if isinstance(spec, Seq2SeqSpec):
        loss, grads = seq2seq_loss_and_grads(
            params,
            spec,
            batch.inputs,
            batch.targets,
            source_lengths=batch.source_lengths,
            target_mask=batch.loss_mask,
        )
        return loss, grads, None
    return loss_and_grads(
        params,
        spec,
        batch.inputs,
        batch.targets,
        h0=h0,
        loss_mask=batch.loss_mask,
        truncation=truncation,
    )


def outputs(spec: Spec, params: Params, batch: Batch) -> np.ndarray:
    """The model's outputs y (T, B, O) on a batch, from h = 0 (decoder outputs for seq2seq)."""
    if isinstance(spec, Seq2SeqSpec):
        pair = Seq2SeqForward(
            params,
            spec,
            batch.inputs,
            batch.targets,
            source_lengths=batch.source_lengths,
            target_mask=batch.loss_mask,
        ).run()
        return np.asarray(pair.decoder.ys)
    trace = Forward(params, spec, batch.inputs, batch.targets, loss_mask=batch.loss_mask).run()
    return np.asarray(trace.ys)


def exact_match(spec: Seq2SeqSpec, params: Params, batch: Batch) -> float:
    """Fraction of sources whose free-running greedy decoding is exactly the target."""
    assert batch.source_lengths is not None and batch.loss_mask is not None
    hits = 0
    for b in range(batch.inputs.shape[1]):
        source = batch.inputs[: int(batch.source_lengths[b]), b]
        target = batch.targets[batch.loss_mask[:, b] > 0, b].tolist()
        decoded = seq2seq_decode(params, spec, source, max_length=len(target) + 2)
        hits += decoded == target
    return hits / batch.inputs.shape[1]


def evaluate(task: Task, params: Params, spec: Spec, seq_len: int) -> dict[str, float]:
    """Held-out metrics: loss and accuracy (tokens) or MSE (real), plus the task's own."""
    batch = task.heldout_batch(seq_len)
    metrics = task.score(batch, outputs(spec, params, batch))
    if isinstance(spec, Seq2SeqSpec):
        metrics["exact_match"] = exact_match(spec, params, batch)
    return metrics


def flow_ratio(spec: Spec, params: Params, batch: Batch) -> float:
    """||dL_T/dh_0|| / ||dL_T/dh_T||: how much of the last loss's gradient reaches step 0."""
    if isinstance(spec, Seq2SeqSpec):
        raise ValueError("flow_ratio measures a single recurrent network")
    trace = Forward(params, spec, batch.inputs, batch.targets, loss_mask=batch.loss_mask).run()
    flow = gradient_flow(trace, params, spec)  # (T, T): [t, k] = ||dL_t/dh_k||
    last = flow[-1]
    return float(last[0] / last[-1]) if last[-1] > 0 else float("nan")


@dataclass
class TrainingResult:
    """A finished run: its parameters, the loss curve and what happened along the way."""

    task: Task
    spec: Spec
    params: Params
    config: dict[str, Any]
    losses: list[float] = field(default_factory=list)  # training loss per iteration
    clipped: int = 0  # iterations whose gradients were clipped
    skipped: int = 0  # iterations whose gradients were non-finite and not applied
    max_grad_norm: float = 0.0  # largest global gradient norm before clipping
    initial_flow_ratio: float = float("nan")  # flow_ratio on the first batch, before training
    h: np.ndarray | None = None  # state carried out of the last stateful batch
    cursor: int | None = None  # next stream position, for stream tasks
    optimizer: Optimizer | None = None  # its state goes on where the run stopped
    data_rng: np.random.Generator | None = None  # the data generator, before the next batch

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics now, with the run's bookkeeping beside them."""
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run is reported, not warned
            metrics = evaluate(self.task, self.params, self.spec, int(self.config["seq_len"]))
        metrics.update(
            train_loss=self.losses[-1] if self.losses else float("nan"),
            clipped=float(self.clipped),
            skipped=float(self.skipped),
            max_grad_norm=self.max_grad_norm,
            initial_flow_ratio=self.initial_flow_ratio,
        )
        return metrics


def train(task: Task, config: Mapping[str, Any], iterations: int) -> TrainingResult:
    """Train `task` for `iterations` updates as configured (RunConfig field names)."""
    config = dict(config)
    weights_rng, rng = generators(int(config["seed"]))
    spec = model_spec(task, config)
    params = initial_params(spec, config, weights_rng)
    optimizer = make_optimizer(config["optimizer"], float(config["learning_rate"]))
    result = TrainingResult(
        task=task,
        spec=spec,
        params=params,
        config=config,
        cursor=0,
        optimizer=optimizer,
        data_rng=rng,
    )
    # An exploding run overflows on purpose; it is counted in `skipped`, not warned about.
    with np.errstate(over="ignore", invalid="ignore"):
        for iteration in range(iterations):
            _train_step(task, spec, params, optimizer, config, result, rng, iteration)
    return result


def _train_step(
    task: Task,
    spec: Spec,
    params: Params,
    optimizer: Optimizer,
    config: Mapping[str, Any],
    result: TrainingResult,
    rng: np.random.Generator,
    iteration: int,
) -> None:
    """One iteration: draw a batch, backprop, clip, update unless non-finite."""
    batch_size, seq_len = int(config["batch_size"]), int(config["seq_len"])
    batch = task.train_batch(rng, batch_size, seq_len, cursor=result.cursor)
    if iteration == 0 and isinstance(spec, ModelSpec):
        result.initial_flow_ratio = flow_ratio(spec, params, batch)
    h0 = result.h if batch.stateful else None
    loss, grads, h_last = batch_loss_and_grads(spec, params, batch, h0, config["truncation"])
    clip = apply_gradients(
        params, optimizer, grads, config["clip_mode"], float(config["clip_threshold"])
    )
    result.max_grad_norm = max(result.max_grad_norm, clip.norm_before)
    result.clipped += clip.clipped
    result.skipped += not clip.applied
    result.losses.append(loss)
    result.h = h_last
    result.cursor = batch.next_cursor


@dataclass(frozen=True)
class Applied:
    """What an update did: the clipping report, and whether the parameters moved."""

    grads: dict[str, np.ndarray]
    norm_before: float
    norm_after: float  # of the gradient the update used (equal to norm_before unless clipped)
    clipped: bool
    applied: bool


def apply_gradients(
    params: Params,
    optimizer: Optimizer,
    grads: Mapping[str, np.ndarray],
    clip_mode: str,
    clip_threshold: float,
) -> Applied:
    """Clip, then update in place, unless the gradients hold inf/NaN: such an update is refused."""
    clip = clip_gradients(dict(grads), clip_mode, clip_threshold)
    applied = bool(clip.finite and np.isfinite(clip.norm_before))
    if applied:
        optimizer.update(params, clip.grads)
    norm_after = global_norm(clip.grads) if clip.clipped else float(clip.norm_before)
    return Applied(clip.grads, float(clip.norm_before), norm_after, bool(clip.clipped), applied)


def sample_text(
    task: Task,
    spec: Spec,
    params: Params,
    rng: np.random.Generator,
    length: int,
    *,
    prime: str = "",
    temperature: float = 1.0,
) -> str:
    """Text drawn from a character model, fed `prime` first (min-char-rnn's sample).

    Without a prime the first character is drawn at random. Raises ValueError for a model that
    cannot be fed its own output, or a prime with characters outside the vocabulary.
    """
    if not isinstance(spec, ModelSpec) or spec.head != "softmax":
        raise ValueError("sampling text needs a token model with a softmax head")
    vocab = task.input_vocab
    if vocab != task.output_vocab:
        raise ValueError("this task's outputs cannot be fed back as inputs")
    unknown = sorted({ch for ch in prime if ch not in vocab})
    if unknown:
        raise ValueError(f"not in the vocabulary: {unknown}")
    prime_ids = [vocab.index(ch) for ch in prime] if prime else [int(rng.integers(len(vocab)))]
    h: np.ndarray | None = None
    if len(prime_ids) > 1:
        inputs = np.array(prime_ids[:-1])[:, None]  # (T, 1): read the prime to set h
        trace = Forward(params, spec, inputs, inputs).run()
        h = np.asarray(trace.state)
    ids = sample(params, spec, h, prime_ids[-1], length, rng, temperature=temperature)
    return "".join(task.output_vocab[i] for i in ids)


def train_preset(preset: Preset, iterations: int | None = None) -> TrainingResult:
    """Train a preset's run for its stated iterations (or as many as asked)."""
    count = preset.iterations if iterations is None else iterations
    return train(TASKS[preset.task], preset.config, count)
