"""Encoder-decoder of unequal lengths: number words to digits, "three hundred four" -> "3 0 4".

The encoder reads the words (1 to 4 of them), the decoder writes the digits (1 to 3) and then
<eos>. Lengths differ both ways ("seventeen" -> "1 7", "five hundred" -> "5 0 0"), so no
step-by-step alignment exists: the whole number must pass through the context vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.tasks.base import EOS, PAD, SOS, Batch, ExampleSetTask, TaskInfo, encode, pad_columns
from app.tasks.metrics import score_tokens

SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
LARGEST = 999
HELDOUT_COUNT = 150  # numbers never trained on
SPLIT_SEED = 7  # fixed: the same numbers are held out on every machine


def number_words(n: int) -> list[str]:
    """English words for 0 <= n <= 999, without "and": 342 -> three hundred forty two."""
    if not 0 <= n <= LARGEST:
        raise ValueError(f"n must lie in [0, {LARGEST}]; got {n}")
    if n < 20:
        return [SMALL[n]]
    if n < 100:
        return [TENS[n // 10]] + ([SMALL[n % 10]] if n % 10 else [])
    rest = n % 100
    return [SMALL[n // 100], "hundred"] + (number_words(rest) if rest else [])


class NumbersTask(ExampleSetTask):
    """Translate English number words into digits."""

    info = TaskInfo(
        name="numbers",
        title="Encoder-decoder: number words to digits",
        summary=(
            "An encoder reads 'three hundred four' word by word; a decoder, started from its "
            "last state, writes 3 0 4 and <eos>. Input and output lengths differ."
        ),
        architecture="encoder_decoder",
        defaults={"hidden_size": 48, "embedding_size": 16},
    )
    input_vocab: tuple[str, ...] = (PAD, *SMALL, *TENS[2:], "hundred")
    output_vocab: tuple[str, ...] = (
        SOS,
        EOS,
        PAD,
        *"0123456789",
    )  # <sos> 0 and <eos> 1, the engine's default

    def __init__(self) -> None:
        order = np.random.default_rng(SPLIT_SEED).permutation(LARGEST + 1)
        self.heldout_examples = np.sort(order[:HELDOUT_COUNT])  # numbers never trained on
        self.train_examples = np.sort(order[HELDOUT_COUNT:])
        self.source_len = max(len(number_words(n)) for n in range(LARGEST + 1))
        self.target_len = len(str(LARGEST)) + 1  # digits and <eos>

    def pair(self, n: int) -> tuple[list[str], list[str]]:
        """(source words, target tokens ending in <eos>) for the number n."""
        return number_words(n), [*str(n), EOS]

    def _batch(self, examples: Sequence[int] | np.ndarray) -> Batch:
        """Numbers, as padded sources and targets with the decoder's teacher-forced inputs."""
        pairs = [self.pair(int(n)) for n in examples]
        sources = [encode(words, self.input_vocab) for words, _ in pairs]
        targets = [encode(digits, self.output_vocab) for _, digits in pairs]
        source, source_mask = pad_columns(sources, self.source_len, self.input_vocab.index(PAD))
        target, target_mask = pad_columns(targets, self.target_len, self.output_vocab.index(PAD))
        sos = np.full((1, len(examples)), self.output_vocab.index(SOS), dtype=np.int64)
        return Batch(
            inputs=source,
            targets=target,
            loss_mask=target_mask,
            decoder_inputs=np.concatenate([sos, target[:-1]], axis=0),  # teacher forcing
            source_lengths=source_mask.sum(axis=0).astype(np.int64),
        )

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Teacher-forced loss and accuracy per output token (digits and <eos>)."""
        return score_tokens(batch, ys)
