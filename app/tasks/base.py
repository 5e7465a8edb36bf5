"""What a lesson task gives the session: vocabularies, batches of sequences, a held-out split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from app.engine import Sequences

PAD = "<pad>"  # padding token: its positions carry no loss (loss_mask 0)
UNK = "<unk>"  # a word the training split never used
SOS = "<sos>"  # start of sequence, the decoder's first input
EOS = "<eos>"  # end of sequence, the decoder's last target

ARCHITECTURES = ("many_to_many", "many_to_one", "one_to_many", "encoder_decoder")


@dataclass(frozen=True)
class Batch(Sequences):
    """One iteration's data, laid out (T, B, ...) like the engine: the sequences a net reads
    (inputs, targets, loss_mask, source_lengths), and how the run goes on from them."""

    stateful: bool = False  # carry h over from the previous batch (min-char-rnn's hprev)
    next_cursor: int | None = None  # stream tasks: pass back as `cursor` for the next batch
    decoder_inputs: np.ndarray | None = None  # (T_out, B) <sos> y_1 ... for encoder-decoder


@dataclass(frozen=True)
class TaskInfo:
    """What a page shows about a task; by default tokens in, a softmax over tokens out, a
    target at every step."""

    name: str
    title: str
    summary: str
    architecture: str = "many_to_many"  # one of ARCHITECTURES
    input_kind: Literal["onehot", "real"] = "onehot"  # token ids (a run may embed them), values
    head: Literal["softmax", "linear"] = "softmax"
    lesson: str = ""
    defaults: dict[str, object] = field(default_factory=dict)
    fixed_seq_len: int | None = None  # data sets of fixed length ignore the run's seq_len
    input_size: int = 0  # features per step for real-valued inputs (0 for tokens)
    output_size: int = 0  # outputs per step for a linear head (0 for tokens)


class Task(Protocol):
    """A lesson's data source; pure NumPy, driven by the session's seeded generator."""

    # Read-only: a task never changes once built, so one instance serves every session.
    @property
    def info(self) -> TaskInfo:
        """Name, title, architecture and defaults."""
        ...

    @property
    def input_vocab(self) -> tuple[str, ...]:
        """Input tokens by id; empty for real-valued inputs."""
        ...

    @property
    def output_vocab(self) -> tuple[str, ...]:
        """Output tokens by id; empty for a linear head."""
        ...

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """The next training batch; `cursor` is the previous batch's `next_cursor`, if any."""
        ...

    def heldout_batch(self, seq_len: int) -> Batch:
        """The held-out split as one deterministic batch, never used for training."""
        ...

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Metrics of outputs y (T, B, O) on a batch: loss and accuracy (tokens) or mse (real)."""
        ...


HELDOUT_SEED = 1_000_003  # fixed and distinct from any training seed a preset uses


class GeneratedTask:
    """A task whose sequences are drawn fresh: training batches from the run's generator, the
    held-out split from a fixed generator of its own. Subclasses write `_batch`."""

    heldout_size = 256

    def _batch(self, rng: np.random.Generator, batch_size: int, seq_len: int) -> Batch:
        raise NotImplementedError

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """Fresh random sequences every batch."""
        return self._batch(rng, batch_size, seq_len)

    def heldout_batch(self, seq_len: int) -> Batch:
        """Sequences drawn from a fixed seed of their own, never used for training."""
        return self._batch(np.random.default_rng(HELDOUT_SEED), self.heldout_size, seq_len)


class ExampleSetTask:
    """A task over a fixed set of examples: training batches draw training examples at random,
    the held-out batch is every held-out example once. Subclasses set `train_examples` and
    `heldout_examples` and write `_batch`."""

    train_examples: Sequence[int] | np.ndarray
    heldout_examples: Sequence[int] | np.ndarray

    def _batch(self, examples: Sequence[int] | np.ndarray) -> Batch:
        raise NotImplementedError

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """Training examples drawn at random."""
        return self._batch(rng.choice(self.train_examples, size=batch_size))

    def heldout_batch(self, seq_len: int) -> Batch:
        """Every held-out example once."""
        return self._batch(self.heldout_examples)


class SentenceTask(ExampleSetTask):
    """Sentences as examples, each batch padded at the end to `seq_len` with the loss counted
    on the real words only. Subclasses give each sentence's input and target ids (`_pair`)."""

    input_vocab: tuple[str, ...]  # <pad> first
    seq_len: int

    def _pair(self, example: int) -> tuple[Sequence[int], Sequence[int]]:
        raise NotImplementedError

    def _batch(self, examples: Sequence[int] | np.ndarray) -> Batch:
        """Sentences by index, padded at the end."""
        pad_id = self.input_vocab.index(PAD)
        pairs = [self._pair(int(i)) for i in examples]
        inputs, mask = pad_columns([x for x, _ in pairs], self.seq_len, pad_id)
        targets, _ = pad_columns([y for _, y in pairs], self.seq_len, pad_id)
        return Batch(inputs=inputs, targets=targets, loss_mask=mask)


def vocabulary(tokens: Sequence[str], *, specials: Sequence[str] = ()) -> tuple[str, ...]:
    """Special tokens first, then the distinct tokens in sorted order: stable across runs."""
    seen = set(specials)
    return (*specials, *sorted({t for t in tokens if t not in seen}))


def encode(tokens: Sequence[str], vocab: Sequence[str], *, unknown: str | None = None) -> list[int]:
    """Token ids of `tokens`; unseen tokens map to `unknown` (or raise ValueError)."""
    index = {token: i for i, token in enumerate(vocab)}
    ids = []
    for token in tokens:
        if token in index:
            ids.append(index[token])
        elif unknown is not None:
            ids.append(index[unknown])
        else:
            raise ValueError(f"token {token!r} is not in the vocabulary")
    return ids


def pad_columns(
    sequences: Sequence[Sequence[int]], length: int, pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """(ids (T, B), mask (T, B)): each sequence a column, padded at the end to `length`."""
    ids = np.full((length, len(sequences)), pad_id, dtype=np.int64)
    mask = np.zeros((length, len(sequences)))
    for b, seq in enumerate(sequences):
        if len(seq) > length:
            raise ValueError(f"sequence of {len(seq)} tokens does not fit in {length} steps")
        ids[: len(seq), b] = seq
        mask[: len(seq), b] = 1.0
    return ids, mask


def last_step_mask(lengths: Sequence[int], length: int) -> np.ndarray:
    """(T, B) mask with a single 1 at each sequence's last real step (many-to-one loss)."""
    n = np.asarray(lengths)
    if n.ndim != 1 or not np.issubdtype(n.dtype, np.integer):
        raise ValueError(f"lengths must be a 1-D integer array; got {n.dtype} {n.shape}")
    if n.size and (n.min() < 1 or n.max() > length):
        raise ValueError(f"lengths must lie in [1, {length}]; got [{n.min()}, {n.max()}]")
    return (np.arange(length)[:, None] == (n - 1)[None, :]).astype(np.float64)


def split_every(items: Sequence[object], every: int) -> tuple[list[int], list[int]]:
    """(train, held-out) indices: every `every`-th item held out, so both splits cover the data."""
    heldout = [i for i in range(len(items)) if i % every == every - 1]
    train = [i for i in range(len(items)) if i % every != every - 1]
    return train, heldout
