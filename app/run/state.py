"""One run's state: its task and net, parameters, optimizer, generators, data cursor and history.

A run draws as min-char-rnn does: parameters first from the weights generator, then every batch
from a data generator of its own, so runs that differ only in their model (RNN vs LSTM, another
hidden size) see exactly the same sequences, and a seed reproduces a run bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from app.engine import (
    Applied,
    EncoderDecoder,
    InitSpec,
    ModelSpec,
    Net,
    Optimizer,
    Seq2SeqSpec,
    SingleNet,
    apply_gradients,
    make_optimizer,
)
from app.engine.spec import InputKind
from app.engine.types import Array, Params
from app.protocol import Limits, RunConfig
from app.run import budget
from app.run.refusal import CommandRefused
from app.tasks import TASKS, Batch, Task
from app.tasks.base import EOS, SOS
from app.tasks.text import pasted_text_task

if TYPE_CHECKING:
    from app.run.own import OwnData

PASTED = "pasted"  # the task name of a session's own pasted text
UPLOADED = "uploaded"  # the task name of a session's uploaded data (app.run.own)
SAMPLER_STREAM = 1  # the sampler's key beside the seed: [seed, 1, n] draws the n-th sample
DATA_STREAM = 2  # the data generator's key beside the seed
SMOOTHING = 0.999  # min-char-rnn's smoothed loss


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(weights, data) generators of a run: separate, so the data does not depend on the model."""
    return np.random.default_rng(seed), np.random.default_rng([seed, DATA_STREAM])


def build_net(task: Task, config: RunConfig) -> Net:
    """The network a run of `task` builds: its architecture decides the kind."""
    info = task.info
    embedding = config.embedding_size
    if info.architecture == "encoder_decoder":
        kind: InputKind = "embedding" if embedding else "onehot"
        return EncoderDecoder(
            Seq2SeqSpec(
                cell=config.cell,
                activation=config.activation,
                source_kind=kind,
                source_size=len(task.input_vocab),
                target_kind=kind,
                target_size=len(task.output_vocab),
                embedding_size=embedding,
                hidden_size=config.hidden_size,
                sos=task.output_vocab.index(SOS),
                eos=task.output_vocab.index(EOS),
            )
        )
    spec = ModelSpec(
        cell=config.cell,
        activation=config.activation,
        input_kind="embedding" if embedding else info.input_kind,
        input_size=len(task.input_vocab) or info.input_size,
        embedding_size=embedding,
        hidden_size=config.hidden_size,
        output_size=len(task.output_vocab) or info.output_size,
        head=info.head,
    )
    return SingleNet(spec)


def init_spec(config: RunConfig) -> InitSpec:
    """The initialisation a config asks for."""
    return InitSpec(config.init, config.spectral_radius, config.init_scale, config.forget_bias)


def initial_weights(
    task: Task, config: RunConfig, upload: OwnData | None, rng: np.random.Generator
) -> tuple[Net, Params, OwnData | None]:
    """The run's network and first parameters: a loaded model's weights where the config builds
    its network (the upload then keeps it), else drawn from `rng` (the upload then drops it)."""
    net = build_net(task, config)
    model = None if upload is None else upload.model_for(task, net)
    if model is None:
        params = net.init_params(init_spec(config), rng)
        return net, params, None if upload is None else upload.without_model()
    return model.net, model.start_params(rng, config.init_scale), upload


@dataclass(frozen=True)
class DataStart:
    """Where a run's data stands before a batch is drawn: the stream cursor, the generator."""

    cursor: int | None
    rng_state: Mapping[str, Any]  # the data generator's bit_generator.state


@dataclass(eq=False)
class RunState:
    """A model learning a task: everything that changes as it trains, and what draws its data."""

    task: Task
    config: RunConfig
    net: Net
    params: Params
    optimizer: Optimizer
    data_rng: np.random.Generator
    text: str | None = None  # the pasted text the task was made from, if any
    upload: OwnData | None = None  # the uploaded data (and loaded model) of the run, if any
    iteration: int = 0  # updates applied (or refused as non-finite) so far
    cursor: int | None = 0  # position in a streamed corpus, walked like min-char-rnn
    batch: Batch | None = None  # the iteration's data, drawn when first needed
    carried: Array | None = None  # h (or [h, c]) carried into the next stateful batch
    smooth_loss: float | None = None
    loss_history: list[float] = field(default_factory=list)
    counted_targets: float = 0.0  # targets counted per sequence in the latest iteration
    samples_drawn: int = 0
    batch_start: DataStart | None = None  # where the current batch was drawn from

    @classmethod
    def start(
        cls, task: Task, config: RunConfig, text: str | None = None, upload: OwnData | None = None
    ) -> RunState:
        """A fresh run: parameters drawn from the seed (or loaded), no data drawn yet."""
        weights_rng, data_rng = generators(config.seed)
        net, params, upload = initial_weights(task, config, upload, weights_rng)
        optimizer = make_optimizer(config.optimizer, config.learning_rate)
        return cls(task, config, net, params, optimizer, data_rng, text, upload)

    def current_batch(self) -> Batch:
        """The data of the iteration in progress (drawn from the data generator the first time)."""
        if self.batch is None:
            self.batch_start = DataStart(self.cursor, self.data_rng.bit_generator.state)
            config = self.config
            self.batch = self.task.train_batch(
                self.data_rng, config.batch_size, config.seq_len, cursor=self.cursor
            )
            self.cursor = self.batch.next_cursor
        return self.batch

    def h0(self) -> Array | None:
        """The state the current batch starts from: the carried one if the task is stateful."""
        return self.carried if self.current_batch().stateful else None

    def conclude(self, loss: float, grads: Mapping[str, Array], carried: Array | None) -> Applied:
        """Close the iteration: clip and apply the gradients, carry the state, keep the loss."""
        config = self.config
        applied = apply_gradients(
            self.params, self.optimizer, grads, config.clip_mode, config.clip_threshold
        )
        self.carried = carried
        self.record_loss(loss, self.current_batch())
        self.iteration += 1
        self.batch = None  # the next iteration draws new data
        return applied

    def record_loss(self, loss: float, batch: Batch) -> None:
        """Keep the loss curve and min-char-rnn's smoothed loss.

        The smoothed loss starts where min-char-rnn's does, at a uniform guess's loss: ln V for
        every counted target (min-char-rnn: -log(1/V) * seq_length); a regression starts at its
        first loss.
        """
        self.loss_history.append(float(loss))
        self.counted_targets = batch.counted_targets
        if not np.isfinite(loss):
            return
        if self.smooth_loss is None:
            self.smooth_loss = float(loss)
            if self.task.info.head == "softmax":
                self.smooth_loss = np.log(len(self.task.output_vocab)) * self.counted_targets
        self.smooth_loss = SMOOTHING * self.smooth_loss + (1 - SMOOTHING) * float(loss)

    def perplexity(self) -> float | None:
        """exp(mean loss per counted target) of the latest iteration (softmax tasks only)."""
        if self.task.info.head != "softmax" or not self.loss_history or not self.counted_targets:
            return None
        per_target = self.loss_history[-1] / self.counted_targets
        return float(np.exp(min(per_target, 700.0)))  # exp(710) would overflow

    def sampler(self) -> np.random.Generator:
        """A generator for the next sample of its own, so sampling never disturbs training."""
        return np.random.default_rng([self.config.seed, SAMPLER_STREAM, self.samples_drawn])

    def retune(self, changes: Mapping[str, object]) -> None:
        """Change hyperparameters without a reset (learning rate, clipping, temperature)."""
        self.config = self.config.model_copy(update=changes)
        if "learning_rate" in changes:
            self.optimizer.lr = self.config.learning_rate


def open_run(
    config: RunConfig, limits: Limits, text: str | None = None, upload: OwnData | None = None
) -> RunState:
    """A fresh run with its first batch drawn, or a refusal naming what is beyond the limits."""
    pasted = None if text is None else pasted_task(text, limits)
    task = check_limits(config, limits, pasted, None if upload is None else upload.task)
    try:
        budget.check(config, lambda wanted: weigh(task, wanted, text, upload))  # before allocating
        run = RunState.start(task, config, text, upload)
        run.current_batch()
    except ValueError as exc:  # sizes the task's data cannot fill, for one
        raise CommandRefused("out_of_range", str(exc), "config") from exc
    return run


def weigh(
    task: Task, config: RunConfig, text: str | None = None, upload: OwnData | None = None
) -> budget.Estimate:
    """What a run of `task` under `config` would take: its peak memory, its longest request
    (with the network a loaded model brings, where the config builds it, and its data)."""
    net = build_net(task, config)
    model = None if upload is None else upload.model_for(task, net)
    held = 0 if upload is None else upload.nbytes
    return budget.estimate(net if model is None else model.net, task, config, text, held)


def check_limits(
    config: RunConfig, limits: Limits, pasted: Task | None = None, uploaded: Task | None = None
) -> Task:
    """The config's task, after refusing anything beyond the server's caps (naming the field)."""
    caps = {
        "hidden_size": limits.max_hidden_size,
        "embedding_size": limits.max_embedding_size,
        "seq_len": limits.max_seq_len,
        "batch_size": limits.max_batch,
    }
    for name, cap in caps.items():
        if getattr(config, name) > cap:
            raise CommandRefused("out_of_range", f"{name} must be at most {cap}", f"config.{name}")
    own = {PASTED: pasted, UPLOADED: uploaded}
    task = own[config.task] if config.task in own else TASKS.get(config.task)
    if task is None:
        known = ", ".join(sorted(TASKS))
        hints = {PASTED: "; send use_text first", UPLOADED: "; upload a file and use it first"}
        hint = hints.get(config.task, "")
        raise CommandRefused("out_of_range", f"unknown task; known: {known}{hint}", "config.task")
    vocab = max(len(task.input_vocab), len(task.output_vocab))
    if vocab > limits.max_vocab:
        message = f"the task's vocabulary has {vocab} tokens; the limit is {limits.max_vocab}"
        raise CommandRefused("out_of_range", message, "config.task")
    return task


def pasted_task(text: str, limits: Limits) -> Task:
    """A character model of the user's text, or a refusal saying what is wrong with it."""
    try:
        return pasted_text_task(text, max_vocab=limits.max_vocab, name=PASTED)
    except ValueError as exc:
        raise CommandRefused("out_of_range", str(exc), "text") from exc
