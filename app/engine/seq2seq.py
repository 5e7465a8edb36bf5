"""Encoder-decoder of unequal lengths (Sutskever, Vinyals & Le 2014; Cho et al. 2014).

The encoder (no output head) reads the source; its state at each sequence's last real step is
the context vector that starts the decoder. In training the decoder is fed <SOS> and then the
previous target token (teacher forcing) and predicts the target, which ends with <EOS>; in
inference it runs free, fed its own greedy choice, until it emits <EOS>. Parameters are the
encoder's and the decoder's, prefixed "enc." and "dec." (e.g. "enc.W_hh", "dec.W_hy").
EncoderDecoder answers the Net calls (app.engine.net). The encoder and decoder reuse Forward,
Backward and the fast driver unchanged; stepping through, a Chain runs the two halves as one
pass each way, and the decoder's gradient w.r.t. its initial state is injected into the encoder
at the context step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from app.engine.backward import Backward, BackwardStep, Gradients
from app.engine.cells import Tape
from app.engine.chain import Chain, Phase
from app.engine.diagnostics import Spectrum, flow_norms, loss_flow, spectrum, state_flow
from app.engine.forward import Forward, ForwardStep
from app.engine.heads import head_forward
from app.engine.net import Measurements
from app.engine.params import check_shapes, init_params, param_shapes
from app.engine.sampling import generate
from app.engine.spec import Activation, Cell, DType, InitSpec, InputKind, ModelSpec
from app.engine.types import Array, Generator, Params, Sequences
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

    cell: Cell = "rnn"
    activation: Activation = "tanh"
    source_kind: InputKind = "onehot"
    source_size: int  # source vocabulary, or feature dimension for real sources
    target_kind: InputKind = "onehot"  # onehot | embedding
    target_size: int  # target vocabulary, <SOS> and <EOS> included
    embedding_size: int = 0  # D_e of every embedding input
    hidden_size: int
    sos: int = 0  # start-of-sequence token, the decoder's first input
    eos: int = 1  # end-of-sequence token, the decoder's last target
    dtype: DType = "float64"

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


V = TypeVar("V")


def _prefixed(enc: Mapping[str, V], dec: Mapping[str, V]) -> dict[str, V]:
    """Encoder and decoder dictionaries merged under their prefixes."""
    return {**{ENC + k: v for k, v in enc.items()}, **{DEC + k: v for k, v in dec.items()}}


def init_seq2seq_params(spec: Seq2SeqSpec, init: InitSpec, rng: Generator) -> Params:
    """Encoder then decoder parameters, drawn in that order from `rng`."""
    enc = init_params(spec.encoder, init, rng)
    return _prefixed(enc, init_params(spec.decoder, init, rng))


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


class EncoderDecoderPass(Chain[ForwardStep]):
    """The encoder's steps, then the teacher-forced decoder's, stepped as one forward pass.

    The phases' closures hold locals, never the pass itself: a pass that refers to itself would
    outlive its last use until a full garbage collection.
    """

    def __init__(self, net: EncoderDecoder, params: Params, data: Sequences) -> None:
        spec = net.spec
        self.params = params
        enc_params, dec_params = split_params(params)
        encoder = Forward(enc_params, spec.encoder, data.inputs, None)
        T, B = encoder.batch.T, encoder.batch.B
        lengths = self.lengths = _lengths(data.source_lengths, T, B)
        self.spec = spec
        self.encoder = encoder

        def begin_decoder() -> Forward:
            context = _context(encoder.trace.tape, lengths)  # starts the decoder
            inputs = decoder_inputs(spec, data.targets)
            return Forward(
                dec_params, spec.decoder, inputs, data.targets, h0=context, loss_mask=data.loss_mask
            )

        super().__init__([Phase("encoder", 0, lambda: encoder), Phase("decoder", T, begin_decoder)])

    @property
    def decoder(self) -> Forward | None:
        """The decoder's pass, once the source is read."""
        return self.passes[1] if len(self.passes) > 1 else None  # type: ignore[return-value]

    @property
    def total_loss(self) -> float:
        """The decoder's loss so far (the encoder has none)."""
        decoder = self.decoder
        return 0.0 if decoder is None else decoder.total_loss

    @property
    def carried(self) -> None:
        """Nothing: every source starts from a zero state."""
        return None

    def backward(self, truncation: int | None = None) -> EncoderDecoderBackward:
        """BPTT through the decoder, then from the context back through the encoder.

        Truncation is not applied: the context's gradient must reach the whole source.
        """
        decoder = self.decoder
        if decoder is None or not self.done:
            raise RuntimeError("seq2seq forward pass not done")
        return EncoderDecoderBackward(self, decoder)

    def gradient_flow(self) -> Array:
        """(T, T) over the encoder's and the decoder's steps together: [t, k] = ||dL_t/dh_k||.

        The rows that carry a loss are the decoder's. Each loss flows back through the decoder's
        states into the context vector, and from it through the encoder's states, from the source's
        last real word back to its first (batch element 0). Encoder rows (no loss) are zero, and
        so are the encoder's padding steps after the context.
        """
        self.finish()
        assert self.decoder is not None
        decoder, encoder = self.decoder, self.encoder
        seen, dh_context, dc_context = loss_flow(decoder.model, decoder.trace)
        last = int(self.lengths[0]) - 1  # the encoder step whose state is the context
        reached = state_flow(encoder.model, encoder.trace.tape, dh_context, dc_context, last)
        T_enc, T_dec = encoder.T, decoder.T
        flow = np.zeros((T_enc + T_dec, T_enc + T_dec))
        flow[T_enc:, : last + 1] = flow_norms(reached)
        flow[T_enc:, T_enc:] = flow_norms(seen)
        return flow

    def measure(self) -> Measurements:
        """The gradient lab measures a single network."""
        raise ValueError("the gradient lab measures a single network")


class EncoderDecoderBackward(Chain[BackwardStep]):
    """BPTT through the decoder (T-1 .. 0), then from the context back through the encoder."""

    def __init__(self, forward: EncoderDecoderPass, decoder_pass: Forward) -> None:
        spec, lengths = forward.spec, forward.lengths
        enc_params, dec_params = split_params(forward.params)
        encoder_trace = forward.encoder.trace
        T = encoder_trace.batch.T
        decoder = self.decoder = Backward(decoder_pass.trace, dec_params, spec.decoder)

        def begin_encoder() -> Backward:
            dh0, dc0 = decoder.initial_state_grads()  # dL/dcontext
            return Backward(
                encoder_trace,
                enc_params,
                spec.encoder,
                dh_ext=_inject(dh0, lengths, T),
                dc_ext=None if dc0 is None else _inject(dc0, lengths, T),
            )

        super().__init__([Phase("decoder", T, lambda: decoder), Phase("encoder", 0, begin_encoder)])
        self._result: Gradients | None = None

    @property
    def encoder(self) -> Backward | None:
        """The encoder's backward pass, once the decoder is walked back."""
        return self.passes[1] if len(self.passes) > 1 else None  # type: ignore[return-value]

    def run(self) -> Gradients:
        """Walk back the remaining steps; every prefixed parameter's gradient."""
        self.finish()
        if self._result is None:
            encoder = self.encoder
            assert encoder is not None
            grads = _prefixed(encoder.gradients.grads, self.decoder.gradients.grads)
            self._result = Gradients.of(grads)
        return self._result


class EncoderDecoder:
    """Two recurrent nets joined by the context vector, answering the Net calls."""

    def __init__(self, spec: Seq2SeqSpec) -> None:
        self.spec = spec

    @property
    def parts(self) -> tuple[ModelSpec, ...]:
        """The encoder, then the decoder."""
        return (self.spec.encoder, self.spec.decoder)

    @property
    def recurrent_name(self) -> str:
        """The decoder's W_hh (or candidate matrix): the one that writes the output."""
        return DEC + self.spec.decoder.recurrent_matrix

    @property
    def dtype(self) -> np.dtype[Any]:
        """The spec's float type."""
        return np.dtype(self.spec.dtype)

    @property
    def generative(self) -> bool:
        """No: its inputs and outputs are different vocabularies."""
        return False

    @property
    def single_spec(self) -> None:
        """None: an encoder and a decoder, not one network."""
        return None

    def init_params(self, init: InitSpec, rng: Generator) -> Params:
        """Encoder then decoder parameters."""
        return init_seq2seq_params(self.spec, init, rng)

    def check_params(self, params: Mapping[str, Array]) -> None:
        """Both halves' names, shapes and dtype."""
        shapes = _prefixed(param_shapes(self.spec.encoder), param_shapes(self.spec.decoder))
        check_shapes(params, shapes, self.dtype)

    def forward(
        self, params: Params, data: Sequences, h0: Array | None = None
    ) -> EncoderDecoderPass:
        """Step through the source, then the target; h0 is unused (each source starts at 0)."""
        return EncoderDecoderPass(self, params, data)

    def loss_and_grads(
        self, params: Params, data: Sequences, h0: Array | None, truncation: int | None
    ) -> tuple[float, dict[str, Array], None]:
        """(decoder loss under teacher forcing, every parameter's gradient, no carried state)."""
        spec = self.spec
        enc_p, dec_p = split_params(params)
        enc, dec = build_model(enc_p, spec.encoder), build_model(dec_p, spec.decoder)
        enc_batch = make_batch(enc, data.inputs, None)
        lengths = _lengths(data.source_lengths, enc_batch.T, enc_batch.B)
        enc_tape = run_forward(enc, enc_batch, None)
        dec_batch = make_batch(
            dec, decoder_inputs(spec, data.targets), data.targets, data.loss_mask
        )
        if dec_batch.B != enc_batch.B:
            raise ValueError(
                f"source and target batch sizes differ: {enc_batch.B} != {dec_batch.B}"
            )
        dec_tape = run_forward(dec, dec_batch, _context(enc_tape, lengths))  # context starts it
        assert dec_batch.targets is not None
        logits = output_logits(dec, dec_tape.hs[1:])
        ys, losses = head_forward("softmax", logits, dec_batch.targets, dec_batch.mask)
        dlogits, dh_head = head_gradients(dec, dec_batch, ys)
        dec_grads, sweep = run_backward(dec, dec_batch, dec_tape, dh_head, dlogits)
        dh0, dc0 = sweep.initial_state_grads()  # dL/dcontext
        dc_ext = None if dc0 is None else _inject(dc0, lengths, enc_batch.T)
        enc_grads, _ = run_backward(
            enc, enc_batch, enc_tape, _inject(dh0, lengths, enc_batch.T), None, dc_ext=dc_ext
        )
        return float(losses.sum()) / dec_batch.B, _prefixed(enc_grads, dec_grads), None

    def outputs(self, params: Params, data: Sequences) -> Array:
        """The teacher-forced decoder's y (T_out, B, V)."""
        forward = self.forward(params, data)
        forward.finish()
        assert forward.decoder is not None
        return np.asarray(forward.decoder.trace.ys)

    def decoding_metrics(self, params: Params, data: Sequences) -> dict[str, float]:
        """exact_match: the fraction of sources whose free-running decoding is the target."""
        source, target = np.asarray(data.inputs), np.asarray(data.targets)
        mask = np.ones(target.shape) if data.loss_mask is None else np.asarray(data.loss_mask)
        lengths = _lengths(data.source_lengths, source.shape[0], source.shape[1])
        hits = 0
        for b in range(source.shape[1]):
            wanted = target[mask[:, b] > 0, b].tolist()
            decoded = self.decode(params, source[: int(lengths[b]), b], len(wanted) + 2)
            hits += decoded == wanted
        return {"exact_match": hits / source.shape[1]}

    def decode(self, params: Mapping[str, Array], source: Any, max_length: int = 50) -> list[int]:
        """Greedy free-running decoding of one source (T,) tokens or (T, D) reals, until <EOS>.

        Returns the emitted tokens, <EOS> included when it came within max_length.
        """
        spec = self.spec
        enc_p, dec_p = split_params(params)
        enc = build_model(enc_p, spec.encoder)
        src = np.asarray(source)
        src = src[:, None] if spec.encoder.tokens else src[:, None, :]  # a batch of one
        tape = run_forward(enc, make_batch(enc, src, None), None)
        context = _context(tape, np.array([src.shape[0]]))
        decoder, sos, eos = spec.decoder, spec.sos, spec.eos
        out = generate(dec_p, decoder, context, sos, max_length, None, greedy=True, stop_token=eos)
        return out.tokens

    def spectrum(self, params: Params) -> Spectrum:
        """The decoder's W_hh spectrum."""
        return spectrum(params[self.recurrent_name], self.spec.decoder.recurrent_activation)

    def sample(
        self, params: Params, prime: Sequence[int], length: int, rng: Generator, temperature: float
    ) -> list[int]:
        """Not possible: an encoder-decoder is not fed its own output from a prime."""
        raise ValueError("sampling text needs a token model with a softmax head")
