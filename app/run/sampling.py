"""Text drawn from a language model, fed a prime first: min-char-rnn's sample.

A text task cuts the prime into its own tokens (characters, or words) and joins what it draws
as its text was joined; any other task's tokens are characters.
"""

from __future__ import annotations

import numpy as np

from app.engine import Net
from app.engine.types import Params
from app.tasks import CharTextTask, Task


def sample_text(
    task: Task,
    net: Net,
    params: Params,
    rng: np.random.Generator,
    length: int,
    *,
    prime: str = "",
    temperature: float = 1.0,
) -> str:
    """`length` tokens drawn after reading `prime`; without one, the first is drawn at random.

    Raises ValueError for a model that cannot be fed its own output, or a prime with tokens
    outside the vocabulary.
    """
    if not net.generative:
        raise ValueError("sampling text needs a token model with a softmax head")
    vocab = task.input_vocab
    if vocab != task.output_vocab:
        raise ValueError("this task's outputs cannot be fed back as inputs")
    tokens, separator = _tokens(task, prime)
    unknown = sorted({token for token in tokens if token not in vocab})
    if unknown:
        raise ValueError(f"not in the vocabulary: {unknown}")
    prime_ids = [vocab.index(t) for t in tokens] if tokens else [int(rng.integers(len(vocab)))]
    ids = net.sample(params, prime_ids, length, rng, temperature)
    return separator.join(task.output_vocab[i] for i in ids)


def _tokens(task: Task, prime: str) -> tuple[list[str], str]:
    """The prime cut into the task's tokens, and what joins its tokens back into text."""
    if isinstance(task, CharTextTask):
        return task.tokenize(prime), task.separator
    return list(prime), ""
