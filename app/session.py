"""One running simulation: a model, its task, optimizer, seeded generator and a cursor.

Synchronous and socket-free: every method returns the protocol frames to send, so the whole
teaching flow (forward step by step, BPTT step by step, update) is testable without a server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from app import __version__
from app.engine import (
    Backward,
    Forward,
    InitSpec,
    ModelSpec,
    check_params,
    clip_gradients,
    gradient_flow,
    init_params,
    loss_and_grads,
    make_optimizer,
    sample,
    spectrum,
)
from app.protocol import (
    PROTOCOL_VERSION,
    BackwardFrame,
    BatchState,
    Error,
    ExportFrame,
    ForwardFrame,
    Hello,
    Limits,
    Number,
    ProgressFrame,
    RunConfig,
    SampleFrame,
    SequenceFrame,
    SessionState,
    SetHyper,
    SpectrumFrame,
    TokenProb,
    UpdateFrame,
    from_wire,
    wire_array,
    wire_number,
)
from app.protocol import (
    Sample as SampleCommand,
)
from app.tasks import TASKS, Batch, Task

TOP_TOKENS = 5


class CommandRefused(Exception):
    """A command that is valid JSON but cannot be carried out now; becomes an Error frame."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message

    def frame(self, command_id: int | None = None) -> Error:
        """The typed error frame for this refusal."""
        return Error.model_validate(
            {
                "code": self.code,
                "field": self.field,
                "message": self.message,
                "command_id": command_id,
            }
        )


def check_limits(config: RunConfig, limits: Limits) -> None:
    """Refuse a configuration beyond the server's caps, naming the field."""
    caps = {
        "hidden_size": limits.max_hidden_size,
        "seq_len": limits.max_seq_len,
        "batch_size": limits.max_batch,
    }
    for name, cap in caps.items():
        if getattr(config, name) > cap:
            raise CommandRefused("out_of_range", f"{name} must be at most {cap}", f"config.{name}")
    if config.task not in TASKS:
        known = ", ".join(sorted(TASKS))
        raise CommandRefused("out_of_range", f"unknown task; known: {known}", "config.task")


@dataclass
class _Iteration:
    """The cursor inside one training iteration."""

    number: int
    batch: Batch
    forward: Forward
    backward: Backward | None = None
    flow: np.ndarray | None = None  # (T, T) ||dL_t/dh_k||
    shown_loss: float = 0.0  # sum of L_t so far for the sequence on screen


class Session:
    """A model learning a task, advanced one step, one iteration or many iterations at a time."""

    def __init__(self, config: RunConfig, limits: Limits) -> None:
        check_limits(config, limits)
        self.id = uuid.uuid4().hex[:12]
        self.limits = limits
        self.config = config
        self._start()

    # ----------------------------------------------------------------- setup

    def _start(self) -> None:
        config = self.config
        self.task: Task = TASKS[config.task]
        self.rng = np.random.default_rng(config.seed)
        info = self.task.info
        tokens = info.input_kind != "real"
        self.spec = ModelSpec(
            cell=config.cell,
            activation=config.activation,
            input_kind="embedding" if tokens and config.embedding_size else info.input_kind,
            input_size=len(self.task.input_vocab) or info.input_size,
            embedding_size=config.embedding_size if tokens else 0,
            hidden_size=config.hidden_size,
            output_size=len(self.task.output_vocab),
            head=info.head,
        )
        init = InitSpec(
            scheme=config.init, spectral_radius=config.spectral_radius, scale=config.init_scale
        )
        self.params = init_params(self.spec, init, self.rng)
        self.optimizer = make_optimizer(config.optimizer, config.learning_rate)
        self.h_carry: np.ndarray | None = None
        self.smooth_loss: float | None = None
        self.samples_drawn = 0
        self.loss_history: list[float] = []
        self.iteration = self._new_iteration(0)

    def _next_batch(self) -> Batch:
        return self.task.train_batch(self.rng, self.config.batch_size, self.config.seq_len)

    def _new_iteration(self, number: int, batch: Batch | None = None) -> _Iteration:
        batch = batch if batch is not None else self._next_batch()
        h0 = self.h_carry if batch.stateful else None
        forward = Forward(
            self.params, self.spec, batch.inputs, batch.targets, h0=h0, loss_mask=batch.loss_mask
        )
        return _Iteration(number=number, batch=batch, forward=forward)

    def hello(self) -> Hello:
        """The first frame of a connection, and of every new run."""
        sequence = self.sequence()
        return Hello(
            server_version=__version__,
            session_id=self.id,
            limits=self.limits,
            config=self.config,
            seed=self.config.seed,
            vocab=list(self.task.output_vocab),
            seq_len=sequence.seq_len,
            tokens=sequence.tokens,
            targets=sequence.targets,
        )

    def sequence(self) -> SequenceFrame:
        """Announce the iteration about to be unrolled (its first sequence, as text)."""
        batch = self.iteration.batch
        counted = (
            np.ones(batch.inputs.shape[0], bool)
            if batch.loss_mask is None
            else batch.loss_mask[:, 0] > 0
        )
        return SequenceFrame(
            iteration=self.iteration.number,
            seq_len=int(batch.inputs.shape[0]),
            tokens=[self._input_text(x) for x in batch.inputs[:, 0]],
            targets=[
                self._target_text(y) if c else ""
                for y, c in zip(batch.targets[:, 0], counted, strict=True)
            ],
        )

    def _input_text(self, x: np.ndarray) -> str:
        """x_t as text: its token, or its values rounded."""
        if self.spec.input_kind == "real":
            return _format_values(x)
        return self.task.input_vocab[int(x)]

    def _target_text(self, y: np.ndarray) -> str:
        """A target as text: its token, or its values rounded."""
        if self.spec.head == "linear":
            return _format_values(y)
        return self.task.output_vocab[int(y)]

    # ----------------------------------------------------------------- stepping

    def step_forward(self) -> ForwardFrame:
        """One time step of the forward pass; the frame shows the batch's first sequence."""
        it = self.iteration
        if it.forward.done:
            raise CommandRefused(
                "bad_phase", "the forward pass is complete: step backward or finish the iteration"
            )
        step = it.forward.step()
        t = step.t
        batch = it.batch
        counted = batch.loss_mask is None or bool(batch.loss_mask[t, 0])
        loss = float(step.losses[0])
        it.shown_loss += loss
        y = step.y[0]  # (V,) probabilities, or (O,) prediction
        top: list[TokenProb] = []
        target_prob: Number | None = None
        target_value = None
        if self.spec.head == "softmax":
            vocab = self.task.output_vocab
            target = int(batch.targets[t, 0])
            target_token = self._target_text(batch.targets[t, 0]) if counted else ""
            order = np.argsort(-y)[:TOP_TOKENS]
            top = [TokenProb.model_construct(token=vocab[i], p=wire_number(y[i])) for i in order]
            target_prob = wire_number(y[target])
        else:
            target_value = wire_array(batch.targets[t, 0])
            target_token = self._target_text(batch.targets[t, 0]) if counted else ""
        # Built without re-validation: this is the hot path, and tests validate what goes out.
        return ForwardFrame.model_construct(
            type="forward",
            iteration=it.number,
            t=t,
            seq_len=int(batch.inputs.shape[0]),
            input_token=self._input_text(batch.inputs[t, 0]),
            target_token=target_token,
            counted=counted,
            h=wire_array(step.h[0]),
            a=wire_array(step.a[0]),
            y=wire_array(y),
            top=top,
            target_prob=target_prob,
            target_value=target_value,
            loss=wire_number(loss),
            total_loss=wire_number(it.shown_loss),
        )

    def step_backward(self) -> BackwardFrame:
        """One time step of backpropagation through time, walking from T-1 down to 0."""
        it = self.iteration
        if not it.forward.done:
            remaining = int(it.batch.inputs.shape[0]) - it.forward.t
            raise CommandRefused(
                "bad_phase", f"finish the forward pass first ({remaining} steps to go)"
            )
        if it.backward is None:
            trace = it.forward.trace
            it.backward = Backward(trace, self.params, self.spec, truncation=self.config.truncation)
            it.flow = gradient_flow(trace, self.params, self.spec)
        if it.backward.done:
            raise CommandRefused("bad_phase", "backpropagation is complete: finish the iteration")
        step = it.backward.step()
        assert it.flow is not None
        return BackwardFrame.model_construct(
            type="backward",
            iteration=it.number,
            t=step.t,
            dh=wire_array(step.dh[0]),
            dh_norm=wire_number(step.dh_norm),
            jacobian_norm=wire_number(step.jacobian_norm),
            flow_row=wire_array(it.flow[step.t, : step.t + 1]),
        )

    def finish_iteration(self) -> list[BaseModel]:
        """Rest of the forward pass, all of BPTT, then the update; every frame along the way."""
        frames: list[BaseModel] = []
        it = self.iteration
        while not it.forward.done:
            frames.append(self.step_forward())
        while it.backward is None or not it.backward.done:
            frames.append(self.step_backward())
        frames += [self._update(), self.sequence(), self.spectrum()]
        return frames

    def _update(self) -> UpdateFrame:
        it = self.iteration
        assert it.backward is not None
        gradients = it.backward.run()
        loss = it.forward.total_loss
        config = self.config
        clip = clip_gradients(gradients.grads, config.clip_mode, config.clip_threshold)
        if gradients.finite:
            self.optimizer.update(self.params, clip.grads)
        if it.batch.stateful:
            self.h_carry = it.forward.trace.h_last
        self._record_loss(loss)
        frame = UpdateFrame(
            iteration=it.number,
            loss=wire_number(loss),
            grad_norms={name: wire_number(n) for name, n in gradients.norms.items()},
            norm_before_clip=wire_number(clip.norm_before),
            clipped=clip.clipped,
            finite=gradients.finite,
        )
        self.iteration = self._new_iteration(it.number + 1)
        return frame

    def advance(self) -> list[BaseModel]:
        """The next thing in the teaching cycle: forward steps, backward steps, update, repeat."""
        it = self.iteration
        if not it.forward.done:
            return [self.step_forward()]
        if it.backward is None or not it.backward.done:
            return [self.step_backward()]
        return [self._update(), self.sequence(), self.spectrum()]

    # ----------------------------------------------------------------- training

    def _record_loss(self, loss: float) -> None:
        """Keep the loss curve and min-char-rnn's smoothed loss."""
        self.loss_history.append(float(loss))
        if not np.isfinite(loss):
            return
        if self.smooth_loss is None:
            self.smooth_loss = float(loss)
        else:
            self.smooth_loss = 0.999 * self.smooth_loss + 0.001 * float(loss)

    def train(self, iterations: int) -> ProgressFrame:
        """Run whole iterations on the fast path (no per-step records); report progress."""
        config = self.config
        clipped = skipped = 0
        loss = float("nan")
        number = self.iteration.number
        batch = self.iteration.batch
        for _ in range(iterations):
            h0 = self.h_carry if batch.stateful else None
            loss, grads, h_last = loss_and_grads(
                self.params,
                self.spec,
                batch.inputs,
                batch.targets,
                h0=h0,
                loss_mask=batch.loss_mask,
                truncation=config.truncation,
            )
            clip = clip_gradients(grads, config.clip_mode, config.clip_threshold)
            clipped += clip.clipped
            if np.isfinite(clip.norm_before):
                self.optimizer.update(self.params, clip.grads)
            else:
                skipped += 1
            if batch.stateful:
                self.h_carry = h_last
            self._record_loss(loss)
            number += 1
            batch = self._next_batch()
        self.iteration = it = self._new_iteration(number, batch)
        smooth = self.smooth_loss if self.smooth_loss is not None else float("nan")
        steps = max(int(it.batch.inputs.shape[0]), 1)
        return ProgressFrame(
            iteration=it.number,
            loss=wire_number(loss),
            smooth_loss=wire_number(smooth),
            perplexity=wire_number(np.exp(min(smooth / steps, 700.0))),
            clipped=clipped,
            skipped=skipped,
        )

    # ----------------------------------------------------------------- configuration

    def reset(self) -> Hello:
        """Start over with the same configuration and seed."""
        self._start()
        return self.hello()

    def configure(self, config: RunConfig) -> Hello:
        """Start over with a new configuration; on refusal the old run goes on untouched."""
        try:
            fresh = Session(config, self.limits)
        except ValueError as exc:
            raise CommandRefused("out_of_range", str(exc), "config") from exc
        session_id = self.id
        self.__dict__.update(fresh.__dict__)
        self.id = session_id
        return self.hello()

    # ----------------------------------------------------------------- mid-run changes

    def set_hyper(self, command: SetHyper) -> None:
        """Change learning rate or clipping without a reset."""
        changes = command.model_dump(exclude_none=True, exclude={"type", "id"})
        self.config = self.config.model_copy(update=changes)
        if command.learning_rate is not None:
            self.optimizer.lr = command.learning_rate

    # ----------------------------------------------------------------- diagnostics

    def spectrum(self) -> SpectrumFrame:
        """Eigenvalues and singular values of the recurrent matrix, with the Pascanu bound."""
        name = "W_hh" if "W_hh" in self.params else "W_hg"
        diag = spectrum(self.params[name], self.config.activation if name == "W_hh" else "tanh")
        return SpectrumFrame(
            iteration=self.iteration.number,
            matrix=name,
            eigenvalues_real=wire_array(diag.eigenvalues.real),
            eigenvalues_imag=wire_array(diag.eigenvalues.imag),
            singular_values=wire_array(diag.singular_values),
            spectral_radius=wire_number(diag.spectral_radius),
            largest_singular_value=wire_number(diag.largest_singular_value),
            gamma=wire_number(diag.gamma),
            vanishing_sufficient=bool(diag.vanishing_sufficient),
        )

    def sample(self, command: SampleCommand) -> SampleFrame:
        """Generate text; the sampler has its own generator so training is not disturbed."""
        vocab = self.task.output_vocab
        if self.task.info.input_kind == "real" or vocab != self.task.input_vocab:
            raise CommandRefused("bad_phase", "this task's outputs cannot be fed back as text")
        unknown = sorted({c for c in command.prime if c not in vocab})
        if unknown:
            raise CommandRefused("out_of_range", f"not in the vocabulary: {unknown}", "prime")
        prime_ids = [vocab.index(c) for c in command.prime]
        h0 = None
        first = prime_ids[-1] if prime_ids else int(self.iteration.batch.inputs[0, 0])
        if len(prime_ids) > 1:
            primer = np.array(prime_ids[:-1])[:, None]  # (T, 1)
            h0 = Forward(self.params, self.spec, primer, primer).run().h_last
        generator = np.random.default_rng([self.config.seed, 1, self.samples_drawn])
        self.samples_drawn += 1
        ids = sample(
            self.params,
            self.spec,
            h0,
            first,
            command.length,
            generator,
            temperature=command.temperature,
        )
        return SampleFrame(
            iteration=self.iteration.number,
            prime=command.prime,
            text="".join(vocab[i] for i in ids),
            temperature=command.temperature,
        )

    # ----------------------------------------------------------------- export and import

    def export(self) -> ExportFrame:
        """Everything needed to continue this run exactly, as JSON-able values."""
        it = self.iteration
        batch = it.batch
        exact = np.float64
        rng_state = _stringify_ints(self.rng.bit_generator.state)
        optimizer = {
            k: wire_array(v, exact) if isinstance(v, np.ndarray) else wire_number(v)
            for k, v in self.optimizer.state_dict().items()
        }
        state = SessionState.model_construct(
            format="unroll-session",
            protocol_version=PROTOCOL_VERSION,
            config=self.config,
            iteration=it.number,
            params={name: wire_array(value, exact) for name, value in self.params.items()},
            optimizer=optimizer,
            rng=rng_state,
            task_state={},
            h_carry=None if self.h_carry is None else wire_array(self.h_carry, exact),
            smooth_loss=None if self.smooth_loss is None else wire_number(self.smooth_loss),
            loss_history=wire_array(self.loss_history, exact),
            samples_drawn=self.samples_drawn,
            batch=BatchState.model_construct(
                inputs=batch.inputs.tolist(),
                targets=batch.targets.tolist(),
                loss_mask=None if batch.loss_mask is None else batch.loss_mask.tolist(),
                stateful=batch.stateful,
            ),
            forward_steps=it.forward.t,
            backward_steps=0
            if it.backward is None
            else int(batch.inputs.shape[0]) - it.backward.t - 1,
        )
        return ExportFrame.model_construct(type="export", state=state)

    def import_state(self, state: SessionState) -> Hello:
        """Become the exported session; on refusal the current run goes on untouched."""
        try:
            fresh = Session(state.config, self.limits)
            fresh._restore(state)
        except (ValueError, KeyError, TypeError) as exc:
            raise CommandRefused("out_of_range", f"cannot import: {exc}", "state") from exc
        session_id = self.id
        self.__dict__.update(fresh.__dict__)
        self.id = session_id
        return self.hello()

    def _restore(self, state: SessionState) -> None:
        dtype = np.dtype(self.spec.dtype)
        params = {name: from_wire(value).astype(dtype) for name, value in state.params.items()}
        check_params(params, self.spec)
        self.params = params
        self.optimizer.load_state_dict(
            {
                k: from_wire(v) if isinstance(v, list) else float(v)
                for k, v in state.optimizer.items()
            }
        )
        self.rng.bit_generator.state = _unstringify_ints(state.rng)
        self.h_carry = None if state.h_carry is None else from_wire(state.h_carry).astype(dtype)
        self.smooth_loss = None if state.smooth_loss is None else float(state.smooth_loss)
        self.loss_history = [float(x) for x in from_wire(state.loss_history)]
        self.samples_drawn = state.samples_drawn
        token_dtype = None if self.spec.input_kind == "real" else np.int64
        batch = Batch(
            inputs=np.asarray(state.batch.inputs, dtype=token_dtype),
            targets=np.asarray(
                state.batch.targets, dtype=None if self.spec.head == "linear" else np.int64
            ),
            loss_mask=None if state.batch.loss_mask is None else from_wire(state.batch.loss_mask),
            stateful=state.batch.stateful,
        )
        self.iteration = self._new_iteration(state.iteration, batch)
        # Replay the steps already taken: the same arithmetic gives the same values.
        for _ in range(state.forward_steps):
            self.step_forward()
        for _ in range(state.backward_steps):
            self.step_backward()


def _format_values(values: np.ndarray) -> str:
    """Real-valued inputs or targets as short text."""
    return ", ".join(f"{v:.2f}" for v in np.atleast_1d(values))


def _stringify_ints(value: Any) -> Any:
    """Big integers (PCG64's 128-bit state) as strings, so JSON readers cannot round them."""
    if isinstance(value, dict):
        return {k: _stringify_ints(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _unstringify_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unstringify_ints(v) for k, v in value.items()}
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value
