"""Sentiment of short restaurant reviews: many-to-one, read word by word, judged at the end."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, cached_property
from importlib import resources

import numpy as np

from app.tasks.base import (
    PAD,
    UNK,
    Batch,
    ExampleSetTask,
    TaskInfo,
    encode,
    last_step_mask,
    pad_columns,
    split_every,
    vocabulary,
)
from app.tasks.metrics import score_tokens

LABELS = ("negative", "positive")
MAX_WORDS = 12  # every review is padded to this many steps


@cache
def reviews() -> tuple[tuple[str, int], ...]:
    """(review, label) pairs from the shipped file; label 1 is positive."""
    text = resources.files("app.tasks").joinpath("data/reviews.txt").read_text(encoding="utf-8")
    pairs = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sign, review = line.split(" ", 1)
        pairs.append((review.strip(), 1 if sign == "+" else 0))
    return tuple(pairs)


class SentimentTask(ExampleSetTask):
    """Read a review one word at a time; the loss counts only at its last word."""

    info = TaskInfo(
        name="sentiment",
        title="Sentiment: is this review positive?",
        summary=(
            "A review is read word by word and judged once, at its last word; the "
            "probability of 'positive' after each word shows the model changing its mind."
        ),
        architecture="many_to_one",
        defaults={"embedding_size": 8, "hidden_size": 16, "seq_len": MAX_WORDS},
        fixed_seq_len=MAX_WORDS,
    )
    seq_len = MAX_WORDS
    output_vocab: tuple[str, ...] = LABELS

    # The reviews are read on first use, so importing the package reads no file.
    @cached_property
    def words(self) -> list[list[str]]:
        """Each review's words, in file order."""
        return [review.split() for review, _ in reviews()]

    @cached_property
    def labels(self) -> np.ndarray:
        """(N,) 1 for positive, 0 for negative."""
        return np.array([label for _, label in reviews()])

    @cached_property
    def _split(self) -> tuple[list[int], list[int]]:
        # Positive and negative lines alternate in the file, so a stride keeps both in each split.
        return split_every(self.words, 5)

    @cached_property
    def train_examples(self) -> list[int]:  # type: ignore[override]
        """Indices of the training reviews."""
        return self._split[0]

    @cached_property
    def heldout_examples(self) -> list[int]:  # type: ignore[override]
        """Indices of the held-out reviews."""
        return self._split[1]

    @cached_property
    def input_vocab(self) -> tuple[str, ...]:
        """<pad>, <unk> and the words of the training split."""
        # Only training words get their own id; a held-out word never seen becomes <unk>.
        train_words = [w for i in self._split[0] for w in self.words[i]]
        return vocabulary(train_words, specials=(PAD, UNK))

    @cached_property
    def _encoded(self) -> list[list[int]]:
        return [encode(w, self.input_vocab, unknown=UNK) for w in self.words]

    def _batch(self, examples: Sequence[int] | np.ndarray) -> Batch:
        """Reviews by index, padded at the end."""
        chosen = [self._encoded[int(i)] for i in examples]
        inputs, _ = pad_columns(chosen, self.seq_len, self.input_vocab.index(PAD))
        labels = self.labels[np.asarray(examples, dtype=np.int64)]
        # The label is the target at every step, so each step's output can be shown against it,
        # but the loss counts only at the last real word (many-to-one).
        targets = np.repeat(labels[None, :], self.seq_len, axis=0)
        mask = last_step_mask([len(s) for s in chosen], self.seq_len)
        return Batch(inputs=inputs, targets=targets, loss_mask=mask)

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Cross-entropy and accuracy of the verdict at each review's last word."""
        return score_tokens(batch, ys)
