"""The wire format: numbers and arrays as sent, and the one encoder of every frame.

Arrays of floats are sent rounded to float32. A non-finite number (an exploding run) is sent as
the string "NaN", "Infinity" or "-Infinity", since JSON has no such numbers and a browser's
JSON.parse rejects a bare NaN.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import orjson
from pydantic import BaseModel

PROTOCOL_VERSION = 1

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
Number = float | NonFinite
Vector = list[Number]
Matrix = list[Vector]


def wire_number(x: float) -> Number:
    """A float as sent: itself if finite, else its marker string."""
    value = float(x)
    if np.isfinite(value):
        return value
    if np.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def wire_array(values: Any, dtype: type[np.floating[Any]] = np.float32) -> Any:
    """An array as sent: float32 by default (exact float64 for exports), markers for inf/NaN."""
    array = np.asarray(values, dtype=dtype)
    if np.isfinite(array).all():
        return array
    # Rare path (an exploding run): fall back to Python lists so markers can sit beside numbers.
    if array.ndim > 1:
        return [wire_array(row, dtype) for row in array]
    return [wire_number(x) for x in array.tolist()]


def from_wire(values: Any) -> np.ndarray:
    """The inverse of wire_array, at float64 (numpy reads "NaN", "Infinity" and "-Infinity")."""
    return np.asarray(values, dtype=np.float64)


def _default(obj: Any) -> Any:
    if isinstance(obj, BaseModel):
        return obj.__dict__
    raise TypeError(f"cannot encode {type(obj).__name__}")


def encode(frame: BaseModel) -> bytes:
    """Encode a frame once, as UTF-8 JSON bytes; numpy arrays and scalars are encoded natively."""
    return orjson.dumps(frame, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)
