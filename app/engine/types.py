"""Type aliases shared by the engine modules."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]  # any float or int ndarray; shapes are given in comments
Params = dict[str, Array]  # parameter name (textbook notation, e.g. "W_hh") -> array
Generator = np.random.Generator
