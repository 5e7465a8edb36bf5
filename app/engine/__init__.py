"""Unroll's recurrent engine: pure NumPy RNN, LSTM and GRU, step by step forward and back.

Modules: spec (ModelSpec, InitSpec), params (names, shapes, seeded init), activations, cells
(the recurrences behind one interface; cells_torch: torch.nn.GRU's form; cell_types: every
cell by name), heads (softmax / linear outputs), unroll (the shared
driver), forward (Forward), backward (Backward), train (loss_and_grads, clipping), optim
(optimizers), diagnostics (gradient flow, Jacobians, spectrum), sampling, architectures (masks,
shifted inputs), seq2seq (encoder-decoder), numerics (non-finite checks, norms), types.
"""

from app.engine.architectures import last_step_mask, padding_mask, shifted_inputs
from app.engine.backward import Backward, BackwardStep, Gradients
from app.engine.diagnostics import (
    Spectrum,
    gradient_flow,
    jacobian_norms,
    jacobians,
    spectrum,
)
from app.engine.forward import Forward, ForwardStep, ForwardTrace
from app.engine.heads import log_softmax, softmax
from app.engine.numerics import NonFiniteError, all_finite, global_norm, nonfinite_names, norms
from app.engine.optim import OPTIMIZERS, Optimizer, make_optimizer
from app.engine.params import check_params, init_params, param_shapes
from app.engine.sampling import Generated, choose, generate, rollout, sample
from app.engine.seq2seq import (
    Seq2SeqBackward,
    Seq2SeqForward,
    Seq2SeqSpec,
    Seq2SeqTrace,
    decoder_inputs,
    init_seq2seq_params,
    seq2seq_decode,
    seq2seq_loss_and_grads,
    split_params,
)
from app.engine.spec import InitSpec, ModelSpec
from app.engine.train import ClipResult, clip_gradients, loss_and_grads

__all__ = [
    "OPTIMIZERS",
    "Backward",
    "BackwardStep",
    "ClipResult",
    "Forward",
    "ForwardStep",
    "ForwardTrace",
    "Generated",
    "Gradients",
    "InitSpec",
    "ModelSpec",
    "NonFiniteError",
    "Optimizer",
    "Seq2SeqBackward",
    "Seq2SeqForward",
    "Seq2SeqSpec",
    "Seq2SeqTrace",
    "Spectrum",
    "all_finite",
    "check_params",
    "choose",
    "clip_gradients",
    "decoder_inputs",
    "generate",
    "global_norm",
    "gradient_flow",
    "init_params",
    "init_seq2seq_params",
    "jacobian_norms",
    "jacobians",
    "last_step_mask",
    "log_softmax",
    "loss_and_grads",
    "make_optimizer",
    "nonfinite_names",
    "norms",
    "padding_mask",
    "param_shapes",
    "rollout",
    "sample",
    "seq2seq_decode",
    "seq2seq_loss_and_grads",
    "shifted_inputs",
    "softmax",
    "spectrum",
    "split_params",
]
