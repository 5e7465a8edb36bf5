"""Text drawn from a character model, fed a prime first: min-char-rnn's sample."""

from __future__ import annotations

import numpy as np

from app.engine import Net
from app.engine.types import Params
from app.tasks import Task


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
    """`length` characters drawn after reading `prime`; without one, the first is drawn at random.

    Raises ValueError for a model that cannot be fed its own output, or a prime with characters
    outside the vocabulary.
    """
    if not net.generative:
        raise ValueError("sampling text needs a token model with a softmax head")
    vocab = task.input_vocab
    if vocab != task.output_vocab:
        raise ValueError("this task's outputs cannot be fed back as inputs")
    unknown = sorted({ch for ch in prime if ch not in vocab})
    if unknown:
        raise ValueError(f"not in the vocabulary: {unknown}")
    prime_ids = [vocab.index(ch) for ch in prime] if prime else [int(rng.integers(len(vocab)))]
    ids = net.sample(params, prime_ids, length, rng, temperature)
    return "".join(task.output_vocab[i] for i in ids)
