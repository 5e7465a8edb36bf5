"""Long-range memory: the adding problem and "remember the first token after N distractors".

Both are many-to-one: the loss counts only at the last step, so the only gradient telling the
network what to store at the start has to travel back through every step in between.
"""

from __future__ import annotations

import numpy as np

from app.tasks.base import Batch, GeneratedTask, TaskInfo
from app.tasks.metrics import score_real, score_tokens

# Var(x1 + x2) for independent x1, x2 ~ U(0, 1): 2 * 1/12. The best constant answer is the mean,
# 1, and it scores exactly this MSE. (The 2/3 often quoted is for values drawn from U(-1, 1).)
CONSTANT_BASELINE_MSE = 1.0 / 6.0


class AddingTask(GeneratedTask):
    """Hochreiter & Schmidhuber (1997): sum the two marked values of a long sequence."""

    info = TaskInfo(
        name="adding",
        title="The adding problem",
        summary=(
            "Each step shows a random value in [0, 1] and a marker; two steps are marked. "
            "At the end, output the sum of the two marked values."
        ),
        architecture="many_to_one",
        input_kind="real",
        head="linear",
        defaults={"seq_len": 30, "hidden_size": 32},
        input_size=2,
        output_size=1,
    )
    input_vocab: tuple[str, ...] = ()
    output_vocab: tuple[str, ...] = ()

    def _batch(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> Batch:
        if seq_len < 2:
            raise ValueError(f"the adding problem needs seq_len of at least 2; got {seq_len}")
        values = rng.uniform(0.0, 1.0, size=(seq_len, batch_size))
        half = seq_len // 2
        # One marker in each half, as in Le, Jaitly & Hinton (2015), so both can be far back.
        first = rng.integers(0, half, size=batch_size)
        second = rng.integers(half, seq_len, size=batch_size)
        columns = np.arange(batch_size)
        markers = np.zeros((seq_len, batch_size))
        markers[first, columns] = 1.0
        markers[second, columns] = 1.0
        total = values[first, columns] + values[second, columns]  # (B,)
        inputs = np.stack([values, markers], axis=-1)  # (T, B, 2)
        targets = np.broadcast_to(total[None, :, None], (seq_len, batch_size, 1)).copy()
        mask = np.zeros((seq_len, batch_size))
        mask[-1] = 1.0  # judged only after the last step
        return Batch(inputs=inputs, targets=targets, loss_mask=mask)

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """MSE at the last step, beside the best constant answer's MSE on the same batch."""
        metrics = score_real(batch, ys)
        metrics["baseline_mse"] = float(((batch.targets[-1] - 1.0) ** 2).mean())
        return metrics


SYMBOLS = ("A", "B", "C", "D")  # what must be remembered
DISTRACTORS = ("w", "x", "y", "z")  # noise in between
QUERY = "?"  # "now answer"


class RememberTask(GeneratedTask):
    """Show a symbol, then N = seq_len - 2 distractors, then "?": answer the first symbol."""

    info = TaskInfo(
        name="remember",
        title="Remember the first token",
        summary=(
            "The first token is one of A, B, C, D; then come random distractors w, x, y, z; "
            "at '?' the network must name the first token. seq_len sets how long it waits."
        ),
        architecture="many_to_one",
        defaults={"seq_len": 12, "hidden_size": 16},
    )
    input_vocab: tuple[str, ...] = (*SYMBOLS, *DISTRACTORS, QUERY)
    output_vocab: tuple[str, ...] = SYMBOLS

    def _batch(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> Batch:
        if seq_len < 2:
            raise ValueError(f"remember needs seq_len of at least 2; got {seq_len}")
        symbols = rng.integers(0, len(SYMBOLS), size=batch_size)
        first_distractor = len(SYMBOLS)
        inputs = rng.integers(
            first_distractor, first_distractor + len(DISTRACTORS), size=(seq_len, batch_size)
        )
        inputs[0] = symbols
        inputs[-1] = self.input_vocab.index(QUERY)
        targets = np.repeat(symbols[None, :], seq_len, axis=0)  # shown at every step
        mask = np.zeros((seq_len, batch_size))
        mask[-1] = 1.0  # but judged only at the query
        return Batch(inputs=inputs, targets=targets, loss_mask=mask)

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Cross-entropy and accuracy at the query; chance is ln 4 and 1/4."""
        return score_tokens(batch, ys)
