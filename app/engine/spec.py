"""Model and initialisation specifications: small frozen dataclasses, validated on creation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

# The options a run may choose, defined here once: the protocol and the pages take them from here.
Cell = Literal["rnn", "lstm", "gru"]
Activation = Literal["tanh", "relu", "sigmoid", "linear"]
InitScheme = Literal["gaussian", "orthogonal", "identity"]
InputKind = Literal["onehot", "embedding", "real"]
Head = Literal["softmax", "linear", "none"]  # "none": an encoder, no output layer and no loss
DType = Literal["float64", "float32"]
# Every cell the engine runs: a run's choices, and torch.nn.GRU's form, which a loaded nn.GRU
# runs as (app.models) but no run offers as a knob.
EngineCell = Literal[Cell, "gru_torch"]

CELLS: tuple[Cell, ...] = get_args(Cell)
ENGINE_CELLS: tuple[EngineCell, ...] = get_args(EngineCell)
ACTIVATIONS: tuple[Activation, ...] = get_args(Activation)
INIT_SCHEMES: tuple[InitScheme, ...] = get_args(InitScheme)
INPUT_KINDS: tuple[InputKind, ...] = get_args(InputKind)
HEADS: tuple[Head, ...] = get_args(Head)
DTYPES: tuple[DType, ...] = get_args(DType)


def _choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    """Raise ValueError naming `field` unless `value` is one of `allowed`."""
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")


def _positive(field: str, value: int) -> None:
    """Raise ValueError naming `field` unless `value` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{field} must be a positive integer; got {value!r}")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """What to build: cell, activation, input encoding, sizes, output head and float type."""

    cell: EngineCell = "rnn"
    activation: Activation = "tanh"  # the vanilla cell's f; LSTM/GRU use sigmoid gates and tanh
    input_kind: InputKind = "onehot"
    input_size: int  # vocabulary V for onehot/embedding, feature dimension D for real
    embedding_size: int = 0  # D_e, required (> 0) for input_kind="embedding"
    hidden_size: int
    output_size: int  # 0 only with head="none"
    head: Head = "softmax"  # softmax + cross-entropy, or linear + squared error
    dtype: DType = "float64"

    def __post_init__(self) -> None:
        _choice("cell", self.cell, ENGINE_CELLS)
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("input_kind", self.input_kind, INPUT_KINDS)
        _choice("head", self.head, HEADS)
        _choice("dtype", self.dtype, DTYPES)
        _positive("input_size", self.input_size)
        _positive("hidden_size", self.hidden_size)
        if self.head == "none":
            if self.output_size != 0:
                raise ValueError(f"output_size must be 0 with head='none'; got {self.output_size}")
        else:
            _positive("output_size", self.output_size)
        if self.input_kind == "embedding":
            _positive("embedding_size", self.embedding_size)
        elif self.embedding_size != 0:
            raise ValueError(
                f"embedding_size must be 0 unless input_kind='embedding'; got {self.embedding_size}"
            )

    @property
    def input_dim(self) -> int:
        """D, the width of the vector x_t fed to the cell."""
        return self.embedding_size if self.input_kind == "embedding" else self.input_size

    @property
    def tokens(self) -> bool:
        """Whether inputs are integer tokens (onehot or embedding) rather than real vectors."""
        return self.input_kind != "real"

    @property
    def recurrent_matrix(self) -> str:
        """The matrix the lessons call W_hh: the vanilla one, or a gated cell's candidate's."""
        return "W_hg" if self.cell == "lstm" else "W_hh"

    @property
    def recurrent_activation(self) -> Activation:
        """The nonlinearity after that matrix: the vanilla cell's f, or the candidate's tanh."""
        return self.activation if self.cell == "rnn" else "tanh"

    @property
    def state_size(self) -> int:
        """Width of the carried state: H, or 2H for the LSTM's [h, c]."""
        return 2 * self.hidden_size if self.cell == "lstm" else self.hidden_size


@dataclass(frozen=True)
class InitSpec:
    """How to initialise: Gaussian, orthogonal or identity (IRNN) recurrence, optional radius."""

    scheme: InitScheme = "gaussian"
    spectral_radius: float | None = None  # rescale each recurrent matrix to exactly this radius
    scale: float = 0.01  # standard deviation of the Gaussian weights
    forget_bias: float = 1.0  # an LSTM's initial b_f (Jozefowicz, Zaremba & Sutskever 2015)

    def __post_init__(self) -> None:
        _choice("scheme", self.scheme, INIT_SCHEMES)
        if self.spectral_radius is not None and not self.spectral_radius > 0:
            raise ValueError(f"spectral_radius must be positive; got {self.spectral_radius!r}")
        if not self.scale >= 0:
            raise ValueError(f"scale must be non-negative; got {self.scale!r}")
        if not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias must be finite; got {self.forget_bias!r}")
