"""Passes stepped one after another as one pass: an encoder-decoder's two halves, either way.

Each phase is begun only when the one before it is done, from what that one left (the context
vector going forward, the gradient reaching it going back). Records are renumbered so that t
runs across the phases, as the unrolled picture shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, Self, TypeVar


class Record(Protocol):
    """A per-step record that can be renumbered."""

    @property
    def t(self) -> int:
        """The step it records."""
        ...

    def shifted(self, steps: int) -> Self:
        """The same record numbered `steps` later."""
        ...


R = TypeVar("R", bound=Record)
R_co = TypeVar("R_co", bound=Record, covariant=True)


class Stepper(Protocol[R_co]):
    """A pass walked one step at a time."""

    @property
    def done(self) -> bool:
        """Whether every step has run."""
        ...

    def step(self) -> R_co:
        """Run the next step and return its record."""
        ...


@dataclass(frozen=True)
class Phase(Generic[R]):
    """One pass of a chain: its name, where its steps sit in the whole, and how to begin it."""

    name: str
    offset: int  # added to its records' t
    begin: Callable[[], Stepper[R]]


class Chain(Generic[R]):
    """Step through phases in order; `passes` holds those begun so far."""

    def __init__(self, phases: Sequence[Phase[R]]) -> None:
        if not phases:
            raise ValueError("a chain needs at least one phase")
        self.phases = tuple(phases)
        self.index = 0
        self.passes: list[Stepper[R]] = [phases[0].begin()]
        self.steps: list[R] = []

    @property
    def phase(self) -> str:
        """The name of the phase the next step belongs to, or "done"."""
        return "done" if self.done else self.phases[self.index].name

    @property
    def done(self) -> bool:
        """Whether the last phase has run to its end."""
        return self.index == len(self.phases) - 1 and self.passes[-1].done

    def step(self) -> R:
        """Run the next step of the current phase; begin the next phase when this one ends."""
        if self.done:
            raise RuntimeError("the chained pass is done: every phase has run")
        current = self.passes[-1]
        record = current.step()
        offset = self.phases[self.index].offset
        if offset:
            record = record.shifted(offset)
        self.steps.append(record)
        if current.done and self.index + 1 < len(self.phases):
            self.index += 1
            self.passes.append(self.phases[self.index].begin())
        return record

    def finish(self) -> None:
        """Run the remaining steps of every phase."""
        while not self.done:
            self.step()
