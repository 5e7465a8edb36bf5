"""A preset: a task, a full run configuration and a lesson, with the result it is known to reach.

Each preset's `config` names every RunConfig field, so a preset means the same run even if the
protocol's defaults change. Its expectations are checked by tests/tasks: after `iterations`
updates at the preset's seed, each metric lies on the stated side of its bound. Lesson texts
are Markdown files in data/lessons/, shared by the presets of one lesson.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

STANDARD: dict[str, Any] = {
    "cell": "rnn",
    "activation": "tanh",
    "hidden_size": 16,
    "embedding_size": 0,
    "seq_len": 10,
    "batch_size": 32,
    "init": "gaussian",
    "spectral_radius": None,
    "init_scale": 0.1,
    "optimizer": "adam",
    "learning_rate": 0.01,
    "clip_mode": "norm",
    "clip_threshold": 5.0,
    "truncation": None,
    "temperature": 1.0,
    "seed": 0,
}

METRIC_NAMES = {
    "loss": "held-out loss",
    "accuracy": "held-out accuracy",
    "mse": "held-out MSE",
    "exact_match": "held-out exact-match rate (free-running decoding)",
    "pronoun_accuracy": "held-out pronoun accuracy",
    "verb_agreement": "held-out was/were agreement",
    "ambiguous_accuracy": "held-out accuracy on noun-or-verb words",
    "tune_accuracy": "fraction of tunes played without a wrong note",
    "initial_flow_ratio": "||dL_T/dh_0|| / ||dL_T/dh_T|| at initialisation",
    "skipped": "updates skipped as non-finite",
}


@dataclass(frozen=True)
class Expectation:
    """A metric's bound after training: below, above, or both (a band)."""

    metric: str
    below: float | None = None
    above: float | None = None

    def __post_init__(self) -> None:
        if self.below is None and self.above is None:
            raise ValueError(f"expectation on {self.metric!r} needs a bound")

    def met(self, value: float) -> bool:
        """Whether `value` lies within the bounds (NaN never does)."""
        if value != value:  # NaN: a diverged run meets no bound
            return False
        return (self.below is None or value < self.below) and (
            self.above is None or value > self.above
        )

    def describe(self) -> str:
        """The bound in words: "held-out loss below 0.2"."""
        name = METRIC_NAMES.get(self.metric, self.metric)
        if self.below is not None and self.above is not None:
            return f"{name} between {self.above:g} and {self.below:g}"
        if self.below is not None:
            return f"{name} below {self.below:g}"
        return f"{name} above {self.above:g}"


@dataclass(frozen=True)
class Preset:
    """A ready-made run: which task, how to configure it, what to read and what it reaches."""

    name: str
    title: str
    task: str
    lesson_name: str  # data/lessons/<lesson_name>.md
    note: str  # what this preset in particular shows
    config: Mapping[str, Any]  # every RunConfig field
    iterations: int
    expectations: tuple[Expectation, ...]

    @property
    def lesson(self) -> str:
        """The lesson text, Markdown."""
        return lesson_text(self.lesson_name)

    def statement(self) -> str:
        """The stated threshold, as a sentence."""
        bounds = " and ".join(e.describe() for e in self.expectations)
        return f"After {self.iterations} iterations at seed {self.config['seed']}: {bounds}."


@cache
def lesson_text(name: str) -> str:
    """A lesson's Markdown, read once from the package data."""
    path = resources.files("app.tasks").joinpath(f"data/lessons/{name}.md")
    return path.read_text(encoding="utf-8")


def make_preset(
    name: str,
    title: str,
    task: str,
    lesson: str,
    note: str,
    iterations: int,
    expectations: tuple[Expectation, ...],
    **overrides: Any,
) -> Preset:
    """A preset whose config is the house standard with `overrides`, which must be known fields."""
    unknown = set(overrides) - set(STANDARD)
    if unknown:
        raise ValueError(f"preset {name!r} sets unknown fields {sorted(unknown)}")
    config = MappingProxyType({"task": task, **STANDARD, **overrides})
    return Preset(name, title, task, lesson, note, config, iterations, expectations)
