"""The "hello" lesson: predict the next character of "hello" (Karpathy's classic example)."""

from __future__ import annotations

import numpy as np

from app.tasks.base import Batch, TaskInfo
from app.tasks.metrics import score_tokens

WORD = "hello"


class HelloTask:
    """Inputs h, e, l, l; targets e, l, l, o; vocabulary of four characters."""

    info = TaskInfo(
        name="hello",
        title="hello: next-character prediction",
        summary="Feed h, e, l, l one at a time; at each step predict the next character.",
        lesson=(
            "The same weights W_xh, W_hh, W_hy are used at every step. "
            "Watch h_t carry what came before: after 'l' the network must answer "
            "'l' the first time and 'o' the second, which only memory can tell apart."
        ),
        defaults={"hidden_size": 3, "seq_len": 4},
        fixed_seq_len=len(WORD) - 1,
    )
    input_vocab: tuple[str, ...] = ("h", "e", "l", "o")
    output_vocab: tuple[str, ...] = input_vocab

    def _batch(self, batch_size: int) -> Batch:
        ids = np.array([self.input_vocab.index(c) for c in WORD])
        inputs = np.repeat(ids[:-1, None], batch_size, axis=1)  # (T, B)
        targets = np.repeat(ids[1:, None], batch_size, axis=1)  # (T, B)
        return Batch(inputs=inputs, targets=targets)

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """Always the same sequence: the word is the whole data set."""
        return self._batch(batch_size)

    def heldout_batch(self, seq_len: int) -> Batch:
        """The same word again: there is nothing else to hold out, so this checks memorisation."""
        return self._batch(1)

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Cross-entropy and accuracy per character."""
        return score_tokens(batch, ys)
