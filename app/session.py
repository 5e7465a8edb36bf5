"""One running simulation: a model, its task, optimizer, seeded generator and a cursor.

Synchronous and socket-free: every method returns the protocol frames to send, so the whole
teaching flow (forward step by step, BPTT step by step, update) is testable without a server.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import numpy as np
from pydantic import BaseModel

from app import __version__
from app.engine import (
    Backward,
    Forward,
    check_params,
    gradient_flow,
    jacobian_norms,
    make_optimizer,
    spectrum,
)
from app.engine.activations import derivative_from_output
from app.engine.seq2seq import Seq2SeqBackward, Seq2SeqForward, Seq2SeqSpec
from app.protocol import (
    PROTOCOL_VERSION,
    BackwardFrame,
    BatchState,
    DiagnosticsFrame,
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
from app.protocol import Sample as SampleCommand
from app.tasks import TASKS, Batch, CharTextTask, Task
from app.tasks.training import (
    Spec,
    apply_gradients,
    batch_loss_and_grads,
    evaluate,
    generators,
    initial_params,
    model_spec,
    sample_text,
)

P = ParamSpec("P")
R = TypeVar("R")
TOP_TOKENS = 5
PASTED = "pasted"  # the task name of a session's own pasted text
HELDOUT_EVERY = 25  # iterations between held-out evaluations while training
SMOOTHING = 0.999  # min-char-rnn's smoothed loss


def _quiet_overflow(method: Callable[P, R]) -> Callable[P, R]:
    """An exploding run overflows on purpose: its inf/NaN are shown as such, not warned about."""

    @functools.wraps(method)
    def quiet(*args: P.args, **kwargs: P.kwargs) -> R:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return method(*args, **kwargs)

    return quiet


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


def check_limits(config: RunConfig, limits: Limits, pasted: Task | None = None) -> Task:
    """The config's task, after refusing anything beyond the server's caps (naming the field)."""
    caps = {
        "hidden_size": limits.max_hidden_size,
        "seq_len": limits.max_seq_len,
        "batch_size": limits.max_batch,
    }
    for name, cap in caps.items():
        if getattr(config, name) > cap:
            raise CommandRefused("out_of_range", f"{name} must be at most {cap}", f"config.{name}")
    task = pasted if config.task == PASTED else TASKS.get(config.task)
    if task is None:
        known = ", ".join(sorted(TASKS))
        hint = "; send use_text first" if config.task == PASTED else ""
        raise CommandRefused("out_of_range", f"unknown task; known: {known}{hint}", "config.task")
    vocab = max(len(task.input_vocab), len(task.output_vocab))
    if vocab > limits.max_vocab:
        message = f"the task's vocabulary has {vocab} tokens; the limit is {limits.max_vocab}"
        raise CommandRefused("out_of_range", message, "config.task")
    return task


@dataclass
class _Iteration:
    """The cursor inside one training iteration."""

    number: int
    batch: Batch
    forward: Forward | Seq2SeqForward
    backward: Backward | Seq2SeqBackward | None = None
    flow: np.ndarray | None = None  # (T, T) ||dL_t/dh_k||, single networks only
    shown_loss: float = 0.0  # sum of L_t so far for the sequence on screen

    @property
    def encoder_len(self) -> int:
        """Encoder-decoder: how many steps read the source before the decoder starts."""
        return int(self.batch.inputs.shape[0]) if self.batch.decoder_inputs is not None else 0

    @property
    def length(self) -> int:
        """Time steps shown for this iteration (encoder and decoder together)."""
        decoder = self.batch.decoder_inputs
        return self.encoder_len + (
            int(decoder.shape[0]) if decoder is not None else int(self.batch.inputs.shape[0])
        )

    @property
    def forward_steps(self) -> int:
        return len(self.forward.steps)

    @property
    def backward_steps(self) -> int:
        return 0 if self.backward is None else len(self.backward.steps)


class Session:
    """A model learning a task, advanced one step, one iteration or many iterations at a time."""

    def __init__(self, config: RunConfig, limits: Limits, *, text: str | None = None) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.limits = limits
        self.text = text
        self.pasted: Task | None = None
        if text is not None:
            self.pasted = _pasted_task(text, limits)
        self.config = config
        self.task = check_limits(config, limits, self.pasted)
        self._start()

    # ----------------------------------------------------------------- setup

    def _start(self) -> None:
        config = self.config
        settings = config.model_dump()
        weights_rng, self.rng = generators(config.seed)  # self.rng draws the data
        self.optimizer = make_optimizer(config.optimizer, config.learning_rate)
        self.cursor: int | None = 0  # position in a streamed corpus, walked like min-char-rnn
        self.state: np.ndarray | None = None  # carried h (or [h, c]) of stateful tasks
        self.smooth_loss: float | None = None
        self.loss_history: list[float] = []
        self.samples_drawn = 0
        try:
            self.spec: Spec = model_spec(self.task, settings)
            self.params = initial_params(self.spec, settings, weights_rng)
            self.iteration = self._new_iteration(0)
        except ValueError as exc:  # sizes the task's data cannot fill, for one
            raise CommandRefused("out_of_range", str(exc), "config") from exc

    def _next_batch(self) -> Batch:
        config = self.config
        batch = self.task.train_batch(
            self.rng, config.batch_size, config.seq_len, cursor=self.cursor
        )
        self.cursor = batch.next_cursor
        return batch

    def _new_iteration(self, number: int, batch: Batch | None = None) -> _Iteration:
        batch = batch if batch is not None else self._next_batch()
        forward: Forward | Seq2SeqForward
        if isinstance(self.spec, Seq2SeqSpec):
            forward = Seq2SeqForward(
                self.params,
                self.spec,
                batch.inputs,
                batch.targets,
                source_lengths=batch.source_lengths,
                target_mask=batch.loss_mask,
            )
        else:
            h0 = self.state if batch.stateful else None
            forward = Forward(
                self.params,
                self.spec,
                batch.inputs,
                batch.targets,
                h0=h0,
                loss_mask=batch.loss_mask,
            )
        return _Iteration(number=number, batch=batch, forward=forward)

    # ----------------------------------------------------------------- what is on screen

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
            encoder_len=sequence.encoder_len,
        )

    def sequence(self) -> SequenceFrame:
        """Announce the iteration about to be unrolled (its first sequence, as text)."""
        it = self.iteration
        tokens = [self._input_text(t) for t in range(it.length)]
        targets = [self._target_text(t) for t in range(it.length)]
        return SequenceFrame(
            iteration=it.number,
            seq_len=it.length,
            tokens=tokens,
            targets=targets,
            encoder_len=it.encoder_len,
        )

    def _input_text(self, t: int) -> str:
        """x_t as text: its token, or its values rounded."""
        it = self.iteration
        batch = it.batch
        if batch.decoder_inputs is not None and t >= it.encoder_len:
            return self.task.output_vocab[int(batch.decoder_inputs[t - it.encoder_len, 0])]
        x = batch.inputs[t, 0]
        if self.task.info.input_kind == "real":
            return _format_values(x)
        return self.task.input_vocab[int(x)]

    def _target_row(self, t: int) -> int | None:
        """Which row of the batch's targets step t predicts, or None where no loss counts."""
        it = self.iteration
        row = t - it.encoder_len
        if row < 0:
            return None
        mask = it.batch.loss_mask
        return row if mask is None or mask[row, 0] > 0 else None

    def _target_text(self, t: int) -> str:
        """The target of step t as text (empty where no loss counts)."""
        row = self._target_row(t)
        if row is None:
            return ""
        y = self.iteration.batch.targets[row, 0]
        if self.task.info.head == "linear":
            return _format_values(y)
        return self.task.output_vocab[int(y)]

    def _phase(self, t: int) -> Any:
        it = self.iteration
        if not it.encoder_len:
            return None
        return "encoder" if t < it.encoder_len else "decoder"

    # ----------------------------------------------------------------- stepping

    @_quiet_overflow
    def step_forward(self) -> ForwardFrame:
        """One time step of the forward pass; the frame shows the batch's first sequence."""
        it = self.iteration
        if it.forward.done:
            raise CommandRefused(
                "bad_phase", "the forward pass is complete: step backward or finish the iteration"
            )
        step = it.forward.step()
        t = it.forward_steps - 1  # across encoder and decoder
        row = self._target_row(t)
        loss = float(step.losses[0]) if step.losses.size else 0.0
        it.shown_loss += loss
        y = step.y[0]  # (V,) probabilities, (O,) prediction, or (0,) for an encoder
        top: list[TokenProb] = []
        target_prob: Number | None = None
        target_value = None
        if row is not None and self.task.info.head == "softmax":
            target = int(it.batch.targets[row, 0])
            vocab = self.task.output_vocab
            order = np.argsort(-y)[:TOP_TOKENS]
            top = [TokenProb.model_construct(token=vocab[i], p=wire_number(y[i])) for i in order]
            target_prob = wire_number(y[target])
        elif row is not None:
            target_value = wire_array(it.batch.targets[row, 0])
        elif y.size and self.task.info.head == "softmax":
            vocab = self.task.output_vocab
            order = np.argsort(-y)[:TOP_TOKENS]
            top = [TokenProb.model_construct(token=vocab[i], p=wire_number(y[i])) for i in order]
        # Built without re-validation: this is the hot path, and tests validate what goes out.
        return ForwardFrame.model_construct(
            type="forward",
            iteration=it.number,
            t=t,
            seq_len=it.length,
            phase=self._phase(t),
            input_token=self._input_text(t),
            target_token=self._target_text(t),
            counted=row is not None,
            h=wire_array(step.h[0]),
            a=wire_array(step.a[0]),
            y=wire_array(y),
            top=top,
            target_prob=target_prob,
            target_value=target_value,
            loss=wire_number(loss),
            total_loss=wire_number(it.shown_loss),
        )

    @_quiet_overflow
    def step_backward(self) -> BackwardFrame:
        """One time step of backpropagation through time, walking from the last step back."""
        it = self.iteration
        if not it.forward.done:
            remaining = it.length - it.forward_steps
            raise CommandRefused(
                "bad_phase", f"finish the forward pass first ({remaining} steps to go)"
            )
        if it.backward is None:
            it.backward = self._backward()
        if it.backward.done:
            raise CommandRefused("bad_phase", "backpropagation is complete: finish the iteration")
        decoding = isinstance(it.backward, Seq2SeqBackward) and it.backward.phase == "decoder"
        step = it.backward.step()
        t = step.t + (it.encoder_len if decoding else 0)
        flow_row = [] if it.flow is None else wire_array(it.flow[step.t, : step.t + 1])
        return BackwardFrame.model_construct(
            type="backward",
            iteration=it.number,
            t=t,
            phase=self._phase(t),
            dh=wire_array(step.dh[0]),
            dh_norm=wire_number(step.dh_norm),
            jacobian_norm=wire_number(step.jacobian_norm),
            flow_row=flow_row,
        )

    def _backward(self) -> Backward | Seq2SeqBackward:
        it = self.iteration
        if isinstance(it.forward, Seq2SeqForward):
            assert isinstance(self.spec, Seq2SeqSpec)
            return Seq2SeqBackward(it.forward.trace, self.params, self.spec)
        trace = it.forward.trace
        assert not isinstance(self.spec, Seq2SeqSpec)
        # The picture of vanishing and exploding gradients, sent a row per backward step.
        it.flow = gradient_flow(trace, self.params, self.spec)
        return Backward(trace, self.params, self.spec, truncation=self.config.truncation)

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

    def advance(self) -> list[BaseModel]:
        """The next thing in the teaching cycle: forward steps, backward steps, update, repeat."""
        it = self.iteration
        if not it.forward.done:
            return [self.step_forward()]
        if it.backward is None or not it.backward.done:
            return [self.step_backward()]
        return [self._update(), self.sequence(), self.spectrum()]

    @_quiet_overflow
    def _update(self) -> UpdateFrame:
        it = self.iteration
        assert it.backward is not None
        gradients = it.backward.run()
        loss = it.forward.total_loss
        config = self.config
        update = apply_gradients(
            self.params, self.optimizer, gradients.grads, config.clip_mode, config.clip_threshold
        )
        if isinstance(it.forward, Forward):  # the next batch starts from it if it is stateful
            self.state = np.array(it.forward.trace.state)
        self._record_loss(loss)
        smooth, perplexity = self._smoothed()
        frame = UpdateFrame(
            iteration=it.number,
            loss=wire_number(loss),
            grad_norms={name: wire_number(n) for name, n in gradients.norms.items()},
            norm_before_clip=wire_number(update.norm_before),
            norm_after_clip=wire_number(update.norm_after),
            clipped=update.clipped,
            finite=update.applied,
            smooth_loss=smooth,
            perplexity=perplexity,
        )
        self.iteration = self._new_iteration(it.number + 1)
        return frame

    # ----------------------------------------------------------------- training

    def _record_loss(self, loss: float) -> None:
        """Keep the loss curve and min-char-rnn's smoothed loss."""
        self.loss_history.append(float(loss))
        if not np.isfinite(loss):
            return
        if self.smooth_loss is None:
            self.smooth_loss = float(loss)
        else:
            self.smooth_loss = SMOOTHING * self.smooth_loss + (1 - SMOOTHING) * float(loss)

    def train(self, iterations: int) -> ProgressFrame:
        """Run whole iterations on the fast path (no per-step records); report progress.

        An iteration already stepped into is abandoned: its batch is trained on from scratch.
        """
        config = self.config
        clipped = skipped = 0
        loss = float("nan")
        number = start = self.iteration.number
        batch = self.iteration.batch
        # An exploding run overflows on purpose; it is reported, not warned about.
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(iterations):
                h0 = self.state if batch.stateful else None
                loss, grads, state = batch_loss_and_grads(
                    self.spec, self.params, batch, h0, config.truncation
                )
                update = apply_gradients(
                    self.params, self.optimizer, grads, config.clip_mode, config.clip_threshold
                )
                clipped += update.clipped
                skipped += not update.applied
                self.state = state
                self._record_loss(loss)
                number += 1
                batch = self._next_batch()
            self.iteration = it = self._new_iteration(number, batch)
            heldout = None
            # Held-out metrics on the first chunk and every HELDOUT_EVERY iterations after.
            if start == 0 or number // HELDOUT_EVERY > start // HELDOUT_EVERY:
                heldout = self.evaluate()
        smooth, perplexity = self._smoothed()
        return ProgressFrame(
            iteration=it.number,
            loss=wire_number(loss),
            smooth_loss=smooth,
            perplexity=perplexity,
            clipped=clipped,
            skipped=skipped,
            heldout=heldout,
        )

    def _smoothed(self) -> tuple[Number, Number | None]:
        """min-char-rnn's smoothed loss, and the per-step perplexity it implies (tokens only)."""
        smooth = self.smooth_loss if self.smooth_loss is not None else float("nan")
        perplexity = None
        if self.task.info.head == "softmax":
            perplexity = wire_number(np.exp(min(smooth / max(self.iteration.length, 1), 700.0)))
        return wire_number(smooth), perplexity

    def evaluate(self) -> dict[str, Number]:
        """Metrics on the held-out split: "predict on unseen data", the loop's last step."""
        with np.errstate(over="ignore", invalid="ignore"):
            metrics = evaluate(self.task, self.params, self.spec, self.config.seq_len)
        return {name: wire_number(value) for name, value in metrics.items()}

    # ----------------------------------------------------------------- configuration

    def reset(self) -> Hello:
        """Start over with the same configuration and seed."""
        self._start()
        return self.hello()

    def configure(self, config: RunConfig) -> Hello:
        """Start over with a new configuration; on refusal the old run goes on untouched."""
        fresh = Session(config, self.limits, text=self.text)
        self._become(fresh)
        return self.hello()

    def use_text(self, text: str) -> Hello:
        """Switch to a character model of pasted text, keeping the other settings."""
        config = self.config.model_copy(update={"task": PASTED})
        fresh = Session(config, self.limits, text=text)
        self._become(fresh)
        return self.hello()

    def _become(self, fresh: Session) -> None:
        session_id = self.id
        self.__dict__.update(fresh.__dict__)
        self.id = session_id

    def set_hyper(self, command: SetHyper) -> None:
        """Change learning rate or clipping without a reset."""
        changes = command.model_dump(exclude_none=True, exclude={"type", "id"})
        self.config = self.config.model_copy(update=changes)
        if command.learning_rate is not None:
            self.optimizer.lr = command.learning_rate

    # ----------------------------------------------------------------- diagnostics

    def spectrum(self) -> SpectrumFrame:
        """Eigenvalues and singular values of the recurrent matrix, with the Pascanu bound."""
        name = self._recurrent_name()
        vanilla = self.config.cell == "rnn"
        diag = spectrum(self.params[name], self.config.activation if vanilla else "tanh")
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

    def _recurrent_name(self) -> str:
        """The matrix the lessons call W_hh: the vanilla one, or a gated cell's candidate."""
        return next(n for n in ("W_hh", "W_hg", "dec.W_hh", "dec.W_hg") if n in self.params)

    def rescale(self, radius: float) -> list[BaseModel]:
        """Rescale the recurrent matrix to a spectral radius and start this iteration over."""
        matrix = self.params[self._recurrent_name()]
        current = spectrum(matrix).spectral_radius
        if not np.isfinite(current) or current == 0.0:
            message = f"cannot rescale a recurrent matrix with spectral radius {current}"
            raise CommandRefused("bad_phase", message, "spectral_radius")
        matrix *= radius / current  # same eigenvectors, every eigenvalue scaled
        self.iteration = self._new_iteration(self.iteration.number, self.iteration.batch)
        return [self.sequence(), self.spectrum()]

    @_quiet_overflow
    def diagnose(self) -> DiagnosticsFrame:
        """Forward and backward over the current sequence, measured whole; the run is untouched."""
        it = self.iteration
        spec = self.spec
        if isinstance(spec, Seq2SeqSpec) or isinstance(it.forward, Seq2SeqForward):
            raise CommandRefused("bad_phase", "the gradient lab measures a single network")
        batch = it.batch
        if it.forward.done:
            trace = it.forward.trace
        else:
            h0 = self.state if batch.stateful else None
            trace = Forward(
                self.params, spec, batch.inputs, batch.targets, h0=h0, loss_mask=batch.loss_mask
            ).run()
        backward = Backward(trace, self.params, spec, diagnostics=False)
        backward.run()
        dh_norms = np.array([step.dh_norm for step in reversed(backward.steps)])  # t = 0..T-1
        if self.config.cell == "rnn":
            slopes = derivative_from_output(self.config.activation, trace.hs[:, 0])
        else:  # the candidate's tanh, where a gated cell can saturate
            candidate = trace.gates["g" if self.config.cell == "lstm" else "h_tilde"][:, 0]
            slopes = derivative_from_output("tanh", candidate)
        diag = self.spectrum()
        return DiagnosticsFrame(
            iteration=it.number,
            seq_len=it.length,
            loss=wire_number(trace.total_loss),
            flow=wire_array(gradient_flow(trace, self.params, spec)),
            jacobian_norms=wire_array(jacobian_norms(trace, self.params, spec)),
            dh_norms=wire_array(dh_norms),
            largest_singular_value=diag.largest_singular_value,
            gamma=diag.gamma,
            saturation=wire_number(np.abs(slopes).mean()),
        )

    def sample(self, command: SampleCommand) -> SampleFrame:
        """Generate text; the sampler has its own generator so training is not disturbed."""
        generator = np.random.default_rng([self.config.seed, 1, self.samples_drawn])
        try:
            text = sample_text(
                self.task,
                self.spec,
                self.params,
                generator,
                command.length,
                prime=command.prime,
                temperature=command.temperature,
            )
        except ValueError as exc:
            field = "prime" if "vocabulary" in str(exc) else None
            code = "out_of_range" if field else "bad_phase"
            raise CommandRefused(code, str(exc), field) from exc
        self.samples_drawn += 1
        return SampleFrame(
            iteration=self.iteration.number,
            prime=command.prime,
            text=text,
            temperature=command.temperature,
        )

    # ----------------------------------------------------------------- export and import

    def export(self) -> ExportFrame:
        """Everything needed to continue this run exactly, as JSON-able values."""
        it = self.iteration
        batch = it.batch
        exact = np.float64
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
            rng=_stringify_ints(self.rng.bit_generator.state),
            cursor=self.cursor,
            text=self.text,
            h_carry=None if self.state is None else wire_array(self.state, exact),
            smooth_loss=None if self.smooth_loss is None else wire_number(self.smooth_loss),
            loss_history=wire_array(self.loss_history, exact),
            samples_drawn=self.samples_drawn,
            batch=BatchState.model_construct(
                inputs=batch.inputs.tolist(),
                targets=batch.targets.tolist(),
                loss_mask=_listed(batch.loss_mask),
                stateful=batch.stateful,
                decoder_inputs=_listed(batch.decoder_inputs),
                source_lengths=_listed(batch.source_lengths),
                next_cursor=batch.next_cursor,
            ),
            forward_steps=it.forward_steps,
            backward_steps=it.backward_steps,
        )
        return ExportFrame.model_construct(type="export", state=state)

    def import_state(self, state: SessionState) -> Hello:
        """Become the exported session; on refusal the current run goes on untouched."""
        try:
            fresh = Session(state.config, self.limits, text=state.text)
            fresh._restore(state)
        except CommandRefused as refusal:
            field = refusal.field.replace("config", "state.config", 1) if refusal.field else None
            raise CommandRefused(refusal.code, f"cannot import: {refusal.message}", field) from None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise CommandRefused("out_of_range", f"cannot import: {exc}", "state") from exc
        self._become(fresh)
        return self.hello()

    def _restore(self, state: SessionState) -> None:
        dtype = np.dtype(self.spec.dtype)
        params = {name: from_wire(value).astype(dtype) for name, value in state.params.items()}
        expected = {name: value.shape for name, value in self.params.items()}
        if not isinstance(self.spec, Seq2SeqSpec):
            check_params(params, self.spec)
        elif {n: v.shape for n, v in params.items()} != expected:
            raise ValueError(f"params must have names and shapes {expected}")
        self.params = params
        self.optimizer.load_state_dict(
            {
                k: from_wire(v) if isinstance(v, list) else float(v)
                for k, v in state.optimizer.items()
            }
        )
        self.rng.bit_generator.state = _unstringify_ints(state.rng)
        self.cursor = state.cursor
        self.state = None if state.h_carry is None else from_wire(state.h_carry).astype(dtype)
        self.smooth_loss = None if state.smooth_loss is None else float(state.smooth_loss)
        self.loss_history = [float(x) for x in from_wire(state.loss_history)]
        self.samples_drawn = state.samples_drawn
        saved = state.batch
        real_targets = self.task.info.head == "linear"
        batch = Batch(
            inputs=np.asarray(
                saved.inputs, dtype=None if self.task.info.input_kind == "real" else np.int64
            ),
            targets=np.asarray(saved.targets, dtype=None if real_targets else np.int64),
            loss_mask=None if saved.loss_mask is None else from_wire(saved.loss_mask),
            stateful=saved.stateful,
            next_cursor=saved.next_cursor,
            decoder_inputs=_array(saved.decoder_inputs, np.int64),
            source_lengths=_array(saved.source_lengths, np.int64),
        )
        self.iteration = self._new_iteration(state.iteration, batch)
        # Replay the steps already taken: the same arithmetic gives the same values.
        for _ in range(state.forward_steps):
            self.step_forward()
        for _ in range(state.backward_steps):
            self.step_backward()


def _pasted_task(text: str, limits: Limits) -> Task:
    """A character model of the user's text, or a refusal saying what is wrong with it."""
    try:
        return CharTextTask.from_text(text, max_vocab=limits.max_vocab, name=PASTED)
    except ValueError as exc:
        raise CommandRefused("out_of_range", str(exc), "text") from exc


def _listed(array: np.ndarray | None) -> list[Any] | None:
    return None if array is None else array.tolist()


def _array(values: list[Any] | None, dtype: Any) -> np.ndarray | None:
    return None if values is None else np.asarray(values, dtype=dtype)


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
