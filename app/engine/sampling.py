"""Free-running generation: each step is fed the previous output (one-to-many).

min-char-rnn's sample, generalised.

Token models draw the next token from softmax(logits / temperature), optionally restricted to
the top k, or take the argmax (greedy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.heads import softmax
from app.engine.spec import ModelSpec
from app.engine.types import Array, Generator
from app.engine.unroll import Model, build_model, carry, output_logits, project, start_tape


def choose(
    logits: Array,
    rng: Generator | None,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
) -> tuple[int, Array]:
    """(token, the distribution it was drawn from) for one step's logits (O,)."""
    if greedy:
        p = softmax(logits)
        return int(np.argmax(logits)), p
    if not temperature > 0:
        raise ValueError(
            f"temperature must be positive (use greedy=True for argmax); got {temperature!r}"
        )
    z = logits / temperature  # sharpen (< 1) or flatten (> 1) the distribution
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be a positive integer; got {top_k!r}")
        if top_k < z.shape[-1]:
            drop = np.argpartition(-z, top_k)[top_k:]  # all but the k largest logits
            z = z.copy()
            z[drop] = -np.inf
    if rng is None:
        raise ValueError("sampling needs an explicit np.random.Generator (or greedy=True)")
    p = softmax(z)
    cdf = np.cumsum(p)
    token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))  # inverse CDF
    return min(token, p.shape[-1] - 1), p


@dataclass(frozen=True)
class Generated:
    """A free-running rollout: the tokens, each step's distribution and the final state."""

    tokens: list[int]
    probs: Array  # (length, O) the distribution each token was drawn from
    state: Array  # (1, H) or (1, 2H) for an LSTM: pass back as h0 to continue


def _token_projection(model: Model, token: int) -> Array:
    """W_x x + b for one token, (1, G*H)."""
    tokens = np.array([[token]])
    X = model.params["E"][tokens] if model.spec.input_kind == "embedding" else None
    return project(model, tokens, X)[0]


def generate(
    params: Mapping[str, Array],
    spec: ModelSpec,
    h0: Any,
    first_token: int,
    length: int,
    rng: Generator | None,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
    stop_token: int | None = None,
) -> Generated:
    """Feed first_token, then each drawn token, for `length` steps or until stop_token.

    rng may be None only when greedy, which draws nothing.
    """
    if not spec.tokens or spec.head != "softmax":
        raise ValueError("sampling needs token inputs and a softmax head")
    if spec.output_size > spec.input_size:
        raise ValueError("sampling feeds outputs back as inputs: output_size must be <= input_size")
    if not 0 <= first_token < spec.input_size:
        raise ValueError(f"first_token must lie in [0, {spec.input_size}); got {first_token}")
    if length < 0:
        raise ValueError(f"length must be non-negative; got {length}")
    model = build_model(params, spec)
    tape = start_tape(model, max(length, 1), 1, h0)
    tokens: list[int] = []
    probs = np.zeros((length, spec.output_size))
    token, steps = first_token, 0
    for t in range(length):
        model.cell.forward(tape, t, _token_projection(model, token), model.w)
        logits = output_logits(model, tape.hs[t + 1])[0]  # (O,)
        token, probs[t] = choose(logits, rng, temperature=temperature, top_k=top_k, greedy=greedy)
        tokens.append(token)
        steps = t + 1
        if token == stop_token:
            break
    return Generated(tokens, probs[:steps], carry(tape, steps))


def sample(
    params: Mapping[str, Array],
    spec: ModelSpec,
    h0: Any,
    first_token: int,
    length: int,
    rng: Generator,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
) -> list[int]:
    """min-char-rnn's sample(h, seed_ix, n): `length` tokens, each fed back as the next input."""
    return generate(
        params,
        spec,
        h0,
        first_token,
        length,
        rng,
        temperature=temperature,
        top_k=top_k,
        greedy=greedy,
    ).tokens
