"""The run configuration and the server's limits.

The options of every choice field (cells, activations, initialisations, optimizers, clipping)
are the engine's own Literal types, so adding one to the engine adds it here and to the pages.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.engine import Activation, Cell, ClipMode, InitScheme, OptimizerName


class Strict(BaseModel):
    """A message model that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid")


class RunConfig(Strict):
    """Everything that defines a run; with the seed it reproduces the run bit for bit."""

    task: str = Field("hello", min_length=1, max_length=64, description="lesson task name")
    cell: Cell = "rnn"
    activation: Activation = "tanh"
    hidden_size: int = Field(3, ge=1, description="units in h_t")
    embedding_size: int = Field(0, ge=0, description="0 means one-hot inputs")
    seq_len: int = Field(4, ge=1, description="time steps per iteration (T)")
    batch_size: int = Field(1, ge=1)
    init: InitScheme = "gaussian"
    spectral_radius: float | None = Field(None, gt=0, le=10, description="rescale W_hh to this")
    init_scale: float = Field(0.1, gt=0, le=10, description="std of the Gaussian initialisation")
    optimizer: OptimizerName = "adagrad"
    learning_rate: float = Field(0.1, gt=0, le=10)
    clip_mode: ClipMode = "value"
    clip_threshold: float = Field(5.0, gt=0, le=1e6)
    truncation: int | None = Field(None, ge=1, description="truncated BPTT length; null = full")
    temperature: float = Field(1.0, gt=0, le=10)
    seed: int = Field(0, ge=0, le=2**32 - 1)


class Limits(Strict):
    """Server-side caps a client must respect; sent in the hello frame."""

    max_hidden_size: int
    max_seq_len: int
    max_vocab: int
    max_batch: int
    max_train_iterations: int
    max_message_bytes: int
    max_commands_per_second: float
    max_embedding_size: int = 256
