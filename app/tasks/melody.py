"""Generation, one-to-many: from a single starting note, play a whole tune.

The seed note is the only real input (step 0); every later input is the rest symbol "_", so
the whole melody must unfold from what h_0 stored. The tune is the opening of "Twinkle,
Twinkle, Little Star" (scale degrees 1 1 5 5 6 6 5 4 4 3 3 2 2 1), moved within the C major
scale to start on the seed note.
"""

from __future__ import annotations

import numpy as np

from app.tasks.base import Batch, TaskInfo
from app.tasks.metrics import score_tokens

NOTES = ("C", "D", "E", "F", "G", "A", "B")
REST = "_"  # "no input at this step"
TUNE = (0, 0, 4, 4, 5, 5, 4, 3, 3, 2, 2, 1, 1, 0)  # twinkle twinkle, as steps up the scale


def melody(start: int) -> list[int]:
    """Note ids of the tune starting on note `start`, wrapping round the seven-note scale."""
    return [(start + step) % len(NOTES) for step in TUNE]


class MelodyTask:
    """Seed note in, fourteen notes out."""

    info = TaskInfo(
        name="melody",
        title="Generation: a tune from one note",
        summary=(
            "One input, many outputs: given only the first note, the network plays the "
            "whole tune, counting its place in the melody with nothing but its hidden state."
        ),
        architecture="one_to_many",
        defaults={"hidden_size": 16, "seq_len": len(TUNE)},
        fixed_seq_len=len(TUNE),
    )
    input_vocab: tuple[str, ...] = (*NOTES, REST)
    output_vocab: tuple[str, ...] = NOTES

    def _batch(self, starts: np.ndarray) -> Batch:
        inputs = np.full((len(TUNE), len(starts)), self.input_vocab.index(REST), dtype=np.int64)
        inputs[0] = starts  # the seed: the only informative input
        targets = np.array([melody(int(s)) for s in starts], dtype=np.int64).T  # (T, B)
        return Batch(inputs=inputs, targets=targets)

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """Seed notes drawn at random."""
        return self._batch(rng.integers(0, len(NOTES), size=batch_size))

    def heldout_batch(self, seq_len: int) -> Batch:
        """Every seed note once: the data set is the whole map from seed to tune.

        With seven seeds there is nothing unseen to hold out; this split scores each tune
        whole, played from its seed in a fixed order, rather than the random draws of training.
        """
        return self._batch(np.arange(len(NOTES)))

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Loss and accuracy per note, and the fraction of tunes played without a wrong note."""
        metrics = score_tokens(batch, ys)
        whole = (ys.argmax(axis=-1) == batch.targets).all(axis=0)
        metrics["tune_accuracy"] = float(whole.mean())
        return metrics
