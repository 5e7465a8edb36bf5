"""Character language model on a text: min-char-rnn's data, as a shipped corpus or pasted text."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, cached_property
from importlib import resources

import numpy as np

from app.tasks.base import Batch, TaskInfo
from app.tasks.metrics import score_tokens

HELDOUT_FRACTION = 0.1  # the text's tail is held out: unseen lines, same style
MAX_PASTED_CHARS = 50_000  # a pasted text larger than this would make one iteration crawl
MAX_PASTED_VOCAB = 100  # the softmax and the one-hot inputs grow with every distinct character
MIN_PASTED_CHARS = 100  # enough for a training stream and a held-out tail


@cache
def shipped_corpus() -> str:
    """The public-domain reader shipped with the package (sonnets, nursery rhymes, fables)."""
    return resources.files("app.tasks").joinpath("data/corpus.txt").read_text(encoding="utf-8")


class CharTextTask:
    """Next-character prediction over a text, many-to-many, walked like min-char-rnn."""

    separator = ""  # what joins its tokens back into text: nothing between characters

    def __init__(self, source: Callable[[], str], *, name: str, title: str, summary: str) -> None:
        self._source = source  # read on first use, so importing the package reads no file
        self.info = TaskInfo(
            name=name,
            title=title,
            summary=summary,
            defaults={"seq_len": 25, "hidden_size": 100},
        )

    @cached_property
    def text(self) -> str:
        """The whole text."""
        return self._source()

    @cached_property
    def input_vocab(self) -> tuple[str, ...]:
        """Every distinct character, sorted."""
        return tuple(sorted(set(self.text)))

    @property
    def output_vocab(self) -> tuple[str, ...]:
        """The same characters: the model predicts its own input alphabet."""
        return self.input_vocab

    @cached_property
    def ids(self) -> np.ndarray:
        """(N,) the text as character ids."""
        return self.encode(self.text)

    @property
    def train_ids(self) -> np.ndarray:
        """The head of the text, trained on."""
        return self.ids[: self._split]

    @property
    def heldout_ids(self) -> np.ndarray:
        """The tail of the text, held out."""
        return self.ids[self._split :]

    @property
    def _split(self) -> int:
        return int(len(self.ids) * (1 - HELDOUT_FRACTION))

    def stream_length(self, batch_size: int) -> int:
        """Characters in each of the batch's parallel streams through the training text."""
        return len(self.train_ids) // batch_size

    def train_batch(
        self, rng: np.random.Generator, batch_size: int, seq_len: int, *, cursor: int | None = None
    ) -> Batch:
        """With a cursor: min-char-rnn's walk (stateful); without: random windows (stateless).

        The training text is cut into `batch_size` streams; the cursor is the offset inside
        each stream. At the end of a stream the walk starts over from h = 0, as min-char-rnn
        does (`if p + seq_length + 1 >= len(data): hprev = 0; p = 0`).
        """
        length = self.stream_length(batch_size)
        if length < seq_len + 1:
            raise ValueError(
                f"the training text ({len(self.train_ids)} characters) is too short for "
                f"{batch_size} streams of seq_len {seq_len}; use a shorter seq_len or batch"
            )
        if cursor is None:
            starts = rng.integers(0, len(self.train_ids) - seq_len, size=batch_size)
            return self._windows(starts, seq_len)
        restart = cursor <= 0 or cursor + seq_len + 1 > length
        position = 0 if restart else cursor
        starts = np.arange(batch_size) * length + position
        batch = self._windows(starts, seq_len)
        return Batch(
            inputs=batch.inputs,
            targets=batch.targets,
            stateful=not restart,
            next_cursor=position + seq_len,
        )

    def _windows(self, starts: np.ndarray, seq_len: int, ids: np.ndarray | None = None) -> Batch:
        source = self.train_ids if ids is None else ids
        steps = starts[None, :] + np.arange(seq_len)[:, None]  # (T, B) positions
        return Batch(inputs=source[steps], targets=source[steps + 1])

    def heldout_batch(self, seq_len: int) -> Batch:
        """The held-out tail cut into consecutive windows, each read from h = 0."""
        windows = (len(self.heldout_ids) - 1) // seq_len
        if windows < 1:
            raise ValueError(f"the held-out text is shorter than seq_len {seq_len}")
        return self._windows(np.arange(windows) * seq_len, seq_len, self.heldout_ids)

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Cross-entropy per character, its perplexity and the argmax accuracy."""
        metrics = score_tokens(batch, ys)
        metrics["perplexity"] = float(np.exp(metrics["loss"]))
        return metrics

    def decode(self, ids: np.ndarray) -> str:
        """The characters of a sequence of ids."""
        return "".join(self.output_vocab[int(i)] for i in ids)

    def tokenize(self, text: str) -> list[str]:
        """The tokens a user's text (a sample's prime) reads as: its characters."""
        return list(text)

    def encode(self, text: str) -> np.ndarray:
        """Ids of `text`; ValueError names the first character outside the vocabulary."""
        index = {ch: i for i, ch in enumerate(self.input_vocab)}
        missing = [ch for ch in text if ch not in index]
        if missing:
            raise ValueError(f"character {missing[0]!r} is not in this text's vocabulary")
        return np.array([index[ch] for ch in text], dtype=np.int64)


def pasted_text_task(
    text: str,
    *,
    max_chars: int = MAX_PASTED_CHARS,
    max_vocab: int = MAX_PASTED_VOCAB,
    name: str = "pasted",
) -> CharTextTask:
    """A character task on user-supplied text; ValueError names what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string; got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ValueError("text is empty: paste some text to learn from")
    if len(text) > max_chars:
        raise ValueError(f"text is too long: {len(text)} characters, the limit is {max_chars}")
    if len(text) < MIN_PASTED_CHARS:
        raise ValueError(
            f"text is too short: {len(text)} characters, at least {MIN_PASTED_CHARS} needed"
        )
    distinct = len(set(text))
    if distinct > max_vocab:
        raise ValueError(
            f"text has too many distinct characters: {distinct}, the limit is {max_vocab}"
        )
    return CharTextTask(
        lambda: text,
        name=name,
        title="Your text: character language model",
        summary=f"Predict the next character of the {len(text)} characters you pasted.",
    )


def corpus_task() -> CharTextTask:
    """The shipped reader as a task."""
    return CharTextTask(
        shipped_corpus,
        name="text",
        title="Character language model: sonnets, rhymes and fables",
        summary=(
            "Read a public-domain reader one character at a time and predict the next; "
            "then sample new text at a chosen temperature."
        ),
    )
