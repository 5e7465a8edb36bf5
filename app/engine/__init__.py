"""Unroll's recurrent engine: pure NumPy RNN, LSTM and GRU, step by step forward and back.

Modules: spec (ModelSpec, InitSpec and the options a run may choose), params (names, shapes,
seeded init), activations, cells (the recurrences behind one interface; cells_torch: torch.nn.GRU's
form; cell_types: every cell by name), heads (softmax / linear outputs), unroll (the shared
driver), forward (Forward), backward (Backward), train (loss_and_grads, clipping, the update),
optim (optimizers), diagnostics (gradient flow, Jacobians, spectrum), sampling, net (the Net
interface and the single net), chain (passes stepped one after another), seq2seq (the
encoder-decoder net), numerics (non-finite checks, norms), types.
"""

from app.engine.backward import Backward, BackwardStep, Gradients
from app.engine.diagnostics import (
    Spectrum,
    gradient_flow,
    jacobian_norms,
    saturation,
    spectrum,
)
from app.engine.forward import Forward, ForwardStep, ForwardTrace
from app.engine.heads import softmax
from app.engine.net import (
    BackwardPass,
    ForwardPass,
    Measurements,
    Net,
    SingleNet,
    SinglePass,
)
from app.engine.numerics import NonFiniteError, all_finite, global_norm, nonfinite_names, norms
from app.engine.optim import OPTIMIZERS, Optimizer, OptimizerName, make_optimizer
from app.engine.params import check_params, init_params, param_shapes
from app.engine.sampling import Generated, choose, generate, sample
from app.engine.seq2seq import (
    EncoderDecoder,
    EncoderDecoderBackward,
    EncoderDecoderPass,
    Seq2SeqSpec,
    decoder_inputs,
    init_seq2seq_params,
    split_params,
)
from app.engine.spec import (
    ACTIVATIONS,
    CELLS,
    ENGINE_CELLS,
    INIT_SCHEMES,
    Activation,
    Cell,
    EngineCell,
    InitScheme,
    InitSpec,
    ModelSpec,
)
from app.engine.train import (
    CLIP_MODES,
    Applied,
    ClipMode,
    ClipResult,
    apply_gradients,
    clip_gradients,
    loss_and_grads,
)
from app.engine.types import Sequences

__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "CLIP_MODES",
    "ENGINE_CELLS",
    "INIT_SCHEMES",
    "OPTIMIZERS",
    "Activation",
    "Applied",
    "Backward",
    "BackwardPass",
    "BackwardStep",
    "Cell",
    "ClipMode",
    "ClipResult",
    "EncoderDecoder",
    "EncoderDecoderBackward",
    "EncoderDecoderPass",
    "EngineCell",
    "Forward",
    "ForwardPass",
    "ForwardStep",
    "ForwardTrace",
    "Generated",
    "Gradients",
    "InitScheme",
    "InitSpec",
    "Measurements",
    "ModelSpec",
    "Net",
    "NonFiniteError",
    "Optimizer",
    "OptimizerName",
    "Seq2SeqSpec",
    "Sequences",
    "SingleNet",
    "SinglePass",
    "Spectrum",
    "all_finite",
    "apply_gradients",
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
    "loss_and_grads",
    "make_optimizer",
    "nonfinite_names",
    "norms",
    "param_shapes",
    "sample",
    "saturation",
    "softmax",
    "spectrum",
    "split_params",
]
