"""Type aliases shared by the engine modules, and the batch of sequences a net reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]  # any float or int ndarray; shapes are given in comments
Params = dict[str, Array]  # parameter name (textbook notation, e.g. "W_hh") -> array
Generator = np.random.Generator


@dataclass(frozen=True)
class Sequences:
    """A batch of sequences as a net takes it, laid out (T, B, ...)."""

    inputs: Array  # (T, B) token ids or (T, B, D) real values; an encoder-decoder's source
    targets: Array  # (T, B) token ids or (T, B, O) real values; an encoder-decoder's target
    loss_mask: Array | None = None  # (T, B) weight of each loss; None counts every step
    source_lengths: Array | None = None  # (B,) encoder-decoder: real sources before padding
