"""numpy's PCG64 generator state as the wire carries it: every integer a checked decimal string."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

from app.protocol.config import Exact


def _below(bound: int) -> AfterValidator:
    """A decimal string's value must be below `bound` (numpy refuses larger generator words)."""

    def check(digits: str) -> str:
        if int(digits) >= bound:
            raise PydanticCustomError("less_than", "must be below {bound}", {"bound": bound})
        return digits

    return AfterValidator(check)


Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,39}$")]


class PCG64Words(Exact):
    """PCG64's 128-bit state and increment, as decimal strings."""

    state: Annotated[Digits, _below(2**128)]
    inc: Annotated[Digits, _below(2**128)]


class GeneratorState(Exact):
    """numpy's PCG64 bit generator state, every integer as a decimal string."""

    bit_generator: Literal["PCG64"]
    state: PCG64Words
    has_uint32: Literal["0", "1"]
    uinteger: Annotated[Digits, _below(2**32)]
