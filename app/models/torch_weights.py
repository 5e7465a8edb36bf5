"""A trained torch.nn.RNN, nn.LSTM or nn.GRU read into the engine's form, with no torch at run time.

The file is a .safetensors state_dict of a module with the attributes `rnn` (one layer,
unidirectional), an optional `embedding` (nn.Embedding) and an optional `head` (nn.Linear):

    rnn.weight_ih_l0 (G*H, D)   rnn.weight_hh_l0 (G*H, H)   rnn.bias_ih_l0, rnn.bias_hh_l0 (G*H,)
    embedding.weight (V, D)     head.weight (O, H)          head.bias (O,)

A bare layer's state_dict (weight_ih_l0, ... without "rnn.") loads too. G tells the cell: 1 for
nn.RNN, 4 for nn.LSTM (gate blocks stacked i, f, g, o) and 3 for nn.GRU (r, z, n), which runs as
the engine's torch-form GRU (app.engine.cells_torch). Where the engine has one bias per block,
torch's b_i* + b_h* are summed; the GRU's b_hn stays apart as b_hh, inside the reset. Every
refusal is an InputError naming the tensor (field "weights.<name>") or the sidecar key.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as load_safetensors

from app.engine import EngineCell, ModelSpec, check_params, param_shapes
from app.engine.spec import InputKind
from app.engine.types import Array, Generator, Params
from app.inputs import InputError
from app.models.sidecar import Sidecar, parse_sidecar

Module = Literal["nn.RNN", "nn.LSTM", "nn.GRU"]
CELLS: dict[int, tuple[EngineCell, Module]] = {
    1: ("rnn", "nn.RNN"),
    4: ("lstm", "nn.LSTM"),
    3: ("gru_torch", "nn.GRU"),
}
MODULES = {cell: module for cell, module in CELLS.values()}
MODULE_CELLS: dict[Module, EngineCell] = {module: cell for cell, module in CELLS.values()}
# torch's gate blocks in stacking order, named as the engine's blocks (the GRU's n is its h)
TORCH_ORDER = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru_torch": ("r", "z", "h")}
FLOAT_DTYPES = {"F16", "F32", "F64"}
LAYER = re.compile(r"(weight|bias)_(ih|hh|hr)_l(\d+)(_reverse)?$")


@dataclass(frozen=True)
class WeightsLimits:
    """Caps on what a weights file may hold, checked before anything is built."""

    max_bytes: int = 8 * 2**20
    max_hidden_size: int = 256
    max_vocab: int = 256
    max_features: int = 64


@dataclass(frozen=True)
class TorchModel:
    """A model read from torch weights: the engine spec, its parameters and its names."""

    spec: ModelSpec
    params: Params  # engine names, float64; without W_hy, b_y when the file had no head
    module: Module  # which torch module the weights came from
    sidecar: Sidecar  # input tokens or feature names, and the outputs'

    @property
    def has_head(self) -> bool:
        """Whether the file brought the output layer (nn.Linear) too."""
        return "W_hy" in self.params

    def complete_params(self, rng: Generator, scale: float) -> Params:
        """The parameters, with a fresh head if the file had none: W_hy ~ N(0, scale^2), b_y = 0."""
        params = {name: value.copy() for name, value in self.params.items()}
        if not self.has_head:
            O, H = self.spec.output_size, self.spec.hidden_size
            params["W_hy"] = rng.standard_normal((O, H)) * scale
            params["b_y"] = np.zeros(O)
        return params


def _header(data: bytes) -> dict[str, dict[str, object]]:
    """The safetensors header: 8 bytes of length, then JSON naming each tensor's dtype and shape."""
    if len(data) < 8:
        raise InputError("weights", "is not a .safetensors file: it is shorter than its header")
    (size,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("weights", "is not a .safetensors file: its header is not JSON") from exc
    if not isinstance(header, dict):
        raise InputError("weights", "is not a .safetensors file: its header is not an object")
    header.pop("__metadata__", None)
    return header


def read_tensors(data: bytes, max_bytes: int) -> dict[str, Array]:
    """Every tensor of a .safetensors file as float64, refusing non-float and non-finite ones."""
    if len(data) > max_bytes:
        raise InputError("weights", f"is {len(data)} bytes; the limit is {max_bytes}")
    for name, entry in _header(data).items():
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if dtype not in FLOAT_DTYPES:
            raise InputError(
                f"weights.{name}",
                f"has dtype {dtype}; save float16, float32 or float64 tensors (model.float())",
            )
    try:
        raw = load_safetensors(data)
    except (SafetensorError, ValueError, KeyError) as exc:
        raise InputError("weights", f"is not a readable .safetensors file: {exc}") from exc
    tensors = {name: value.astype(np.float64) for name, value in raw.items()}
    for name, value in tensors.items():
        if not np.isfinite(value).all():
            raise InputError(f"weights.{name}", "holds NaN or infinity")
    return tensors


def _refusal(name: str, prefix: str) -> str:
    """Why a tensor name is not loaded: another layer, a reverse direction, or unknown."""
    match = LAYER.search(name)
    if match and match.group(4):
        return "belongs to the reverse direction: Unroll loads bidirectional=False layers"
    if match and match.group(3) != "0":
        return f"belongs to layer {int(match.group(3)) + 1}: Unroll loads num_layers=1"
    if match and match.group(2) == "hr":
        return "is an LSTM projection (proj_size > 0), which Unroll does not load"
    expected = ", ".join(f"{prefix}{n}" for n in ("weight_ih_l0", "weight_hh_l0", "bias_*_l0"))
    return f"is not a tensor Unroll loads; expected {expected}, embedding.weight, head.*"


def _recurrent_prefix(names: list[str]) -> str:
    """ "rnn." for a module's state_dict, "" for a bare recurrent layer's."""
    return "rnn." if any(n.startswith("rnn.") for n in names) else ""


def _check_names(tensors: dict[str, Array], prefix: str) -> None:
    """Refuse unknown tensors, missing ones, and a bias or head half without its other half."""
    layer = [f"{prefix}{n}" for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    known = {*layer, "embedding.weight", "head.weight", "head.bias"}
    for name in sorted(tensors):
        if name not in known:
            raise InputError(f"weights.{name}", _refusal(name, prefix))
    required = layer[:2]
    if (layer[2] in tensors) != (layer[3] in tensors):  # bias=False drops both, never one
        required += layer[2:]
    if "head.bias" in tensors:
        required.append("head.weight")
    for name in required:
        if name not in tensors:
            raise InputError(f"weights.{name}", "is missing")


def _shape_error(name: str, value: Array, expected: str) -> InputError:
    return InputError(f"weights.{name}", f"has shape {value.shape}; expected {expected}")


def _cell_and_size(
    tensors: dict[str, Array], prefix: str, limits: WeightsLimits
) -> tuple[int, int]:
    """(G, H) from weight_hh_l0 (G*H, H): the number of gate blocks and the hidden size."""
    name = f"{prefix}weight_hh_l0"
    w_hh = tensors[name]
    rows, hidden = w_hh.shape if w_hh.ndim == 2 else (0, 0)
    blocks = rows // hidden if hidden and rows % hidden == 0 else 0
    if blocks not in CELLS:
        raise _shape_error(name, w_hh, "(G*H, H) with G = 1 (nn.RNN), 4 (nn.LSTM) or 3 (nn.GRU)")
    if hidden > limits.max_hidden_size:
        message = f"has hidden size {hidden}; the limit is {limits.max_hidden_size}"
        raise InputError(f"weights.{name}", message)
    return blocks, hidden


def _expect(tensors: dict[str, Array], name: str, shape: tuple[int, ...], why: str) -> None:
    """Refuse `name` unless it has exactly `shape`."""
    if name in tensors and tensors[name].shape != shape:
        raise _shape_error(name, tensors[name], f"{shape}{why}")


def _check_shapes(tensors: dict[str, Array], prefix: str, side: Sidecar, G: int, H: int) -> int:
    """Every tensor's shape against the layer's and the sidecar's sizes; return D."""
    embedding = tensors.get("embedding.weight")
    if embedding is not None and not side.tokens:
        raise InputError("weights.embedding.weight", "needs a tokens sidecar, not features")
    if embedding is not None and (embedding.ndim != 2 or embedding.shape[0] != len(side.inputs)):
        raise _shape_error(
            "embedding.weight", embedding, f"({len(side.inputs)}, D): one row per token"
        )
    D = len(side.inputs) if embedding is None else embedding.shape[1]
    source = (
        "embedding.weight" if embedding is not None else f"the sidecar's {len(side.inputs)} inputs"
    )
    _expect(tensors, f"{prefix}weight_ih_l0", (G * H, D), f" to match weight_hh_l0 and {source}")
    for bias in ("bias_ih_l0", "bias_hh_l0"):
        _expect(tensors, f"{prefix}{bias}", (G * H,), " to match weight_hh_l0")
    O = len(side.outputs)
    _expect(tensors, "head.weight", (O, H), f": {O} outputs in the sidecar, hidden size {H}")
    _expect(tensors, "head.bias", (O,), f": {O} outputs in the sidecar")
    return D


def _engine_params(tensors: dict[str, Array], prefix: str, cell: EngineCell, H: int) -> Params:
    """torch's stacked blocks cut into the engine's per-block W_x{k}, W_h{k}, b_{k}."""
    w_ih, w_hh = tensors[f"{prefix}weight_ih_l0"], tensors[f"{prefix}weight_hh_l0"]
    zeros = np.zeros(w_hh.shape[0])  # bias=False: both biases are zero
    b_ih = tensors.get(f"{prefix}bias_ih_l0", zeros)
    b_hh = tensors.get(f"{prefix}bias_hh_l0", zeros)
    params: Params = {}
    for j, k in enumerate(TORCH_ORDER[cell]):
        rows = slice(j * H, (j + 1) * H)
        params[f"W_x{k}"] = w_ih[rows].copy()
        params[f"W_h{k}"] = w_hh[rows].copy()
        if cell == "gru_torch" and k == "h":  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
            params["b_h"], params["b_hh"] = b_ih[rows].copy(), b_hh[rows].copy()
        else:  # b_i* and b_h* add up before the nonlinearity: one engine bias
            params[f"b_{k}"] = b_ih[rows] + b_hh[rows]
    if "embedding.weight" in tensors:
        params["E"] = tensors["embedding.weight"].copy()
    if "head.weight" in tensors:
        params["W_hy"] = tensors["head.weight"].copy()
        params["b_y"] = tensors.get("head.bias", np.zeros(tensors["head.weight"].shape[0])).copy()
    return params


def _spec(side: Sidecar, cell: EngineCell, H: int, D: int, embedded: bool) -> ModelSpec:
    """The engine spec of the loaded layer: its cell, input encoding, sizes and head."""
    if side.nonlinearity is not None and cell != "rnn":
        raise InputError("sidecar.nonlinearity", f"applies to nn.RNN only; this is {MODULES[cell]}")
    kind: InputKind = "embedding" if embedded else "onehot" if side.tokens else "real"
    return ModelSpec(
        cell=cell,
        activation=side.nonlinearity or "tanh",
        input_kind=kind,
        input_size=len(side.inputs),
        embedding_size=D if embedded else 0,
        hidden_size=H,
        output_size=len(side.outputs),
        head="softmax" if side.tokens else "linear",
    )


def load_torch_model(
    weights: bytes, sidecar: str | bytes | Sidecar, limits: WeightsLimits | None = None
) -> TorchModel:
    """Read a torch recurrent layer's .safetensors weights and its JSON sidecar into the engine.

    Raises InputError naming the tensor or sidecar key for anything that cannot load exactly.
    """
    limits = limits or WeightsLimits()
    side = (
        sidecar
        if isinstance(sidecar, Sidecar)
        else parse_sidecar(sidecar, max_vocab=limits.max_vocab, max_features=limits.max_features)
    )
    tensors = read_tensors(weights, limits.max_bytes)
    prefix = _recurrent_prefix(list(tensors))
    _check_names(tensors, prefix)
    G, H = _cell_and_size(tensors, prefix, limits)
    cell, module = CELLS[G]
    D = _check_shapes(tensors, prefix, side, G, H)
    spec = _spec(side, cell, H, D, "embedding.weight" in tensors)
    params = _engine_params(tensors, prefix, cell, H)
    order = [name for name in param_shapes(spec) if name in params]
    params = {name: params[name] for name in order}  # the engine's canonical order
    model = TorchModel(spec, params, module, side)
    check_params(model.complete_params(np.random.default_rng(0), 0.0), spec)  # a last guard
    return model
