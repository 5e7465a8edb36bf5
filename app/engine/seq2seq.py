"""Encoder-decoder of unequal lengths (Sutskever, Vinyals & Le 2014; Cho et al. 2014).

The encoder (no output head) reads the source; its state at each sequence's last real step is
the context vector that starts the decoder. In training the decoder is fed <SOS> and then the
previous target token (teacher forcing) and predicts the target, which ends with <EOS>; in
inference it runs free, fed its own greedy choice, until it emits <EOS>. Parameters are the
encoder's and the decoder's, prefixed "enc." and "dec." (e.g. "enc.W_hh", "dec.W_hy").
The encoder and decoder reuse Forward, Backward and the fast driver unchanged: the decoder's
gradient w.r.t. its initial state is injected into the encoder at the context step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.backward import Backward, BackwardStep, Gradients
from app.engine.cells import Tape
from app.engine.forward import Forward, ForwardStep, ForwardTrace
from app.engine.heads import head_forward
from app.engine.params import init_params
from app.engine.sampling import generate
from app.engine.spec import InitSpec, ModelSpec
from app.engine.types import Array, Generator, Params
from app.engine.unroll import (
    build_model,
    head_gradients,
    make_batch,
    output_logits,
    run_backward,
    run_forward,
)

ENC, DEC = "enc.", "dec."


@dataclass(frozen=True, kw_only=True)
class Seq2SeqSpec:
    """An encoder and a decoder sharing cell type and hidden size."""

    cell: str = "rnn"
    activation: str = "tanh"
    source_kind: str = "onehot"  # onehot | embedding | real
    source_size: int  # source vocabulary, or feature dimension for real sources
    target_kind: str = "onehot"  # onehot | embedding
    target_size: int  # target vocabulary, <SOS> and <EOS> included
    embedding_size: int = 0  # D_e of every embedding input
    hidden_size: int
    sos: int = 0  # start-of-sequence token, the decoder's first input
    eos: int = 1  # end-of-sequence token, the decoder's last target
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if self.target_kind not in ("onehot", "embedding"):
            raise ValueError(f"target_kind must be onehot or embedding; got {self.target_kind!r}")
        _ = self.encoder, self.decoder  # validates every shared field
        for field in ("sos", "eos"):
            value = getattr(self, field)
            if not 0 <= value < self.target_size:
                raise ValueError(f"{field} must lie in [0, {self.target_size}); got {value}")
        if self.sos == self.eos:
            raise ValueError("sos and eos must be different tokens")

    @property
    def encoder(self) -> ModelSpec:
        """The encoder: reads the source, no head."""
        return ModelSpec(
            cell=self.cell,
            activation=self.activation,
            input_kind=self.source_kind,
            input_size=self.source_size,
            embedding_size=self.embedding_size if self.source_kind == "embedding" else 0,
            hidden_size=self.hidden_size,
            output_size=0,
            head="none",
            dtype=self.dtype,
        )

    @property
    def decoder(self) -> ModelSpec:
        """The decoder: a softmax language model over the target vocabulary."""
        return ModelSpec(
            cell=self.cell,
            activation=self.activation,
            input_kind=self.target_kind,
            input_size=self.target_size,
            embedding_size=self.embedding_size if self.target_kind == "embedding" else 0,
            hidden_size=self.hidden_size,
            output_size=self.target_size,
            head="softmax",
            dtype=self.dtype,
        )


def init_seq2seq_params(spec: Seq2SeqSpec, init: InitSpec, rng: Generator) -> Params:
    """Encoder then decoder parameters, drawn in that order from `rng`."""
    enc = init_params(spec.encoder, init, rng)
    dec = init_params(spec.decoder, init, rng)
    return {**{ENC + k: v for k, v in enc.items()}, **{DEC + k: v for k, v in dec.items()}}


def split_params(params: Mapping[str, Array]) -> tuple[Params, Params]:
    """(encoder params, decoder params) with the prefixes removed."""
    enc = {k[len(ENC) :]: v for k, v in params.items() if k.startswith(ENC)}
    dec = {k[len(DEC) :]: v for k, v in params.items() if k.startswith(DEC)}
    if len(enc) + len(dec) != len(params):
        odd = [k for k in params if not k.startswith((ENC, DEC))]
        raise ValueError(f"seq2seq params must start with {ENC!r} or {DEC!r}; got {odd}")
    return enc, dec


def decoder_inputs(spec: Seq2SeqSpec, target: Any) -> Array:
    """Teacher forcing: [<SOS>, y_0, ..., y_{n-2}] for targets y (n, B) ending in <EOS>."""
    y = np.asarray(target)
    if y.ndim != 2 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"target must be a (T, B) integer array; got {y.dtype} {y.shape}")
    return np.concatenate([np.full((1, y.shape[1]), spec.sos, y.dtype), y[:-1]], axis=0)


def _lengths(source_lengths: Any, T: int, B: int) -> Array:
    """Each source's real length, T for all when not given."""
    if source_lengths is None:
        return np.full(B, T)
    n = np.asarray(source_lengths)
    if n.shape != (B,) or not np.issubdtype(n.dtype, np.integer) or n.min() < 1 or n.max() > T:
        raise ValueError(f"source_lengths must be {B} integers in [1, {T}]; got {source_lengths!r}")
    return n


def _context(tape: Tape, lengths: Array) -> Array:
    """(B, S) the encoder state after each sequence's last real step: the context vector."""
    b = np.arange(lengths.shape[0])
    h = tape.hs[lengths, b]  # hs[n] is h_{n-1}, the state after n steps
    return h if tape.cs is None else np.concatenate([h, tape.cs[lengths, b]], axis=-1)


def _inject(d_context: Array, lengths: Array, T: int) -> Array:
    """(T, B, H) zeros except the context gradient at each sequence's last real step."""
    out = np.zeros((T, *d_context.shape), d_context.dtype)
    out[lengths - 1, np.arange(lengths.shape[0])] = d_context
    return out


def _prefixed(enc: Mapping[str, Array], dec: Mapping[str, Array]) -> dict[str, Array]:
    """Encoder and decoder dictionaries merged under their prefixes."""
    return {**{ENC + k: v for k, v in enc.items()}, **{DEC + k: v for k, v in dec.items()}}


def seq2seq_loss_and_grads(
    params: Mapping[str, Array],
    spec: Seq2SeqSpec,
    source: Any,
    target: Any,
    *,
    source_lengths: Any = None,
    target_mask: Any = None,
) -> tuple[float, dict[str, Array]]:
    """(decoder loss under teacher forcing, every encoder and decoder parameter's gradient)."""
    enc_p, dec_p = split_params(params)
    enc, dec = build_model(enc_p, spec.encoder), build_model(dec_p, spec.decoder)
    enc_batch = make_batch(enc, source, None)
    lengths = _lengths(source_lengths, enc_batch.T, enc_batch.B)
    enc_tape = run_forward(enc, enc_batch, None)
    dec_batch = make_batch(dec, decoder_inputs(spec, target), target, target_mask)
    if dec_batch.B != enc_batch.B:
        raise ValueError(f"source and target batch sizes differ: {enc_batch.B} != {dec_batch.B}")
    dec_tape = run_forward(dec, dec_batch, _context(enc_tape, lengths))  # context starts decoder
    assert dec_batch.targets is not None
    ys, losses = head_forward(
        "softmax", output_logits(dec, dec_tape.hs[1:]), dec_batch.targets, dec_batch.mask
    )
    dlogits, dh_head = head_gradients(dec, dec_batch, ys)
    dec_grads, sweep = run_backward(dec, dec_batch, dec_tape, dh_head, dlogits)
    dh0, dc0 = sweep.initial_state_grads()  # dL/dcontext
    dc_ext = None if dc0 is None else _inject(dc0, lengths, enc_batch.T)
    enc_grads, _ = run_backward(
        enc, enc_batch, enc_tape, _inject(dh0, lengths, enc_batch.T), None, dc_ext=dc_ext
    )
    return float(losses.sum()) / dec_batch.B, _prefixed(enc_grads, dec_grads)


@dataclass(frozen=True)
class Seq2SeqTrace:
    """Both finished forward passes and the context vector that joined them."""

    encoder: ForwardTrace
    decoder: ForwardTrace
    context: Array  # (B, H), or (B, 2H) [h, c] for an LSTM
    source_lengths: Array  # (B,)
    total_loss: float


class Seq2SeqForward:
    """Step through the encoder, then the teacher-forced decoder, one time step at a time."""

    def __init__(
        self,
        params: Mapping[str, Array],
        spec: Seq2SeqSpec,
        source: Any,
        target: Any,
        *,
        source_lengths: Any = None,
        target_mask: Any = None,
    ) -> None:
        self.spec = spec
        self.enc_params, self.dec_params = split_params(params)
        self.encoder = Forward(self.enc_params, spec.encoder, source, None)
        self.lengths = _lengths(source_lengths, self.encoder.batch.T, self.encoder.batch.B)
        self.target, self.target_mask = target, target_mask
        self.decoder_inputs = decoder_inputs(spec, target)
        self.decoder: Forward | None = None
        self.steps: list[ForwardStep] = []
        self._trace: Seq2SeqTrace | None = None

    @property
    def phase(self) -> str:
        """Which half the next step belongs to: "encoder", "decoder" or "done"."""
        if not self.encoder.done:
            return "encoder"
        assert self.decoder is not None
        return "done" if self.decoder.done else "decoder"

    @property
    def done(self) -> bool:
        """Whether both halves have run."""
        return self.phase == "done"

    @property
    def total_loss(self) -> float:
        """The decoder's loss so far (the encoder has none)."""
        return 0.0 if self.decoder is None else self.decoder.total_loss

    @property
    def trace(self) -> Seq2SeqTrace:
        """Both traces, once done."""
        if self._trace is None:
            raise RuntimeError("seq2seq forward pass not done")
        return self._trace

    def step(self) -> ForwardStep:
        """Run the next encoder step, or once the source is read, the next decoder step."""
        if self.phase == "encoder":
            record = self.encoder.step()
            if self.encoder.done:
                context = _context(self.encoder.trace.tape, self.lengths)
                self.decoder = Forward(
                    self.dec_params,
                    self.spec.decoder,
                    self.decoder_inputs,
                    self.target,
                    h0=context,
                    loss_mask=self.target_mask,
                )
        elif self.phase == "decoder":
            assert self.decoder is not None
            record = self.decoder.step()
            if self.decoder.done:
                enc, dec = self.encoder.trace, self.decoder.trace
                context = _context(enc.tape, self.lengths)
                self._trace = Seq2SeqTrace(enc, dec, context, self.lengths, dec.total_loss)
        else:
            raise RuntimeError("seq2seq forward pass is done: encoder and decoder have run")
        self.steps.append(record)
        return record

    def run(self) -> Seq2SeqTrace:
        """Run the remaining steps of both halves."""
        while not self.done:
            self.step()
        return self.trace


class Seq2SeqBackward:
    """BPTT through the decoder (T-1 .. 0), then from the context back through the encoder."""

    def __init__(self, trace: Seq2SeqTrace, params: Mapping[str, Array], spec: Seq2SeqSpec) -> None:
        self.spec, self.trace = spec, trace
        self.enc_params, self.dec_params = split_params(params)
        self.decoder = Backward(trace.decoder, self.dec_params, spec.decoder)
        self.encoder: Backward | None = None
        self.steps: list[BackwardStep] = []
        self._result: Gradients | None = None

    @property
    def phase(self) -> str:
        """Which half the next step belongs to: "decoder", "encoder" or "done"."""
        if not self.decoder.done:
            return "decoder"
        assert self.encoder is not None
        return "done" if self.encoder.done else "encoder"

    @property
    def done(self) -> bool:
        """Whether both halves have been walked back."""
        return self.phase == "done"

    @property
    def gradients(self) -> Gradients:
        """Every prefixed parameter's gradient, once done."""
        if self._result is None:
            raise RuntimeError("seq2seq backward pass not done")
        return self._result

    def step(self) -> BackwardStep:
        """Backprop one decoder step, or once the decoder is done, one encoder step."""
        if self.phase == "decoder":
            record = self.decoder.step()
            if self.decoder.done:
                dh0, dc0 = self.decoder.initial_state_grads()  # dL/dcontext
                T = self.trace.encoder.batch.T
                lengths = self.trace.source_lengths
                self.encoder = Backward(
                    self.trace.encoder,
                    self.enc_params,
                    self.spec.encoder,
                    dh_ext=_inject(dh0, lengths, T),
                    dc_ext=None if dc0 is None else _inject(dc0, lengths, T),
                )
        elif self.phase == "encoder":
            assert self.encoder is not None
            record = self.encoder.step()
            if self.encoder.done:
                grads = _prefixed(self.encoder.gradients.grads, self.decoder.gradients.grads)
                self._result = Gradients.of(grads)
        else:
            raise RuntimeError("seq2seq backward pass is done")
        self.steps.append(record)
        return record

    def run(self) -> Gradients:
        """Walk back the remaining steps of both halves."""
        while not self.done:
            self.step()
        return self.gradients


def seq2seq_decode(
    params: Mapping[str, Array],
    spec: Seq2SeqSpec,
    source: Any,
    *,
    max_length: int = 50,
) -> list[int]:
    """Greedy free-running decoding of one source (T,) tokens or (T, D) reals, until <EOS>.

    Returns the emitted tokens, <EOS> included when it came within max_length.
    """
    enc_p, dec_p = split_params(params)
    enc = build_model(enc_p, spec.encoder)
    src = np.asarray(source)
    src = src[:, None] if spec.encoder.tokens else src[:, None, :]  # a batch of one
    tape = run_forward(enc, make_batch(enc, src, None), None)
    context = _context(tape, np.array([src.shape[0]]))
    out = generate(
        dec_p, spec.decoder, context, spec.sos, max_length, None, greedy=True, stop_token=spec.eos
    )
    return out.tokens
