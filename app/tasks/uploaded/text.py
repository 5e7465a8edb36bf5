"""An uploaded text file as a language-model task: next character, or next word.

Both walk the text like min-char-rnn (CharTextTask's stream, held-out tail and metrics); only
the tokens differ. Characters keep the text as it is; words are runs of letters and digits (with
an inner apostrophe) and single punctuation marks, lower-cased, and the vocabulary keeps the most
frequent ones, the rest reading as <unk>. A loaded model brings its own vocabulary instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property, partial
from typing import Literal, get_args

import numpy as np

from app.inputs import InputError, decode_utf8
from app.tasks.base import UNK, vocabulary
from app.tasks.text import MIN_PASTED_CHARS, CharTextTask

MAX_TEXT_BYTES = 1_000_000
MIN_WORDS = 50  # enough for a training stream and a held-out tail
WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")
Level = Literal["char", "word"]
LEVELS: tuple[Level, ...] = get_args(Level)


class TokenTextTask(CharTextTask):
    """A text as a stream of tokens over a fixed vocabulary: its characters or its words."""

    def __init__(self, tokens: Sequence[str], vocab: Sequence[str], *, level: Level, name: str):
        self.level = level
        self.separator = "" if level == "char" else " "  # words never hold a space
        text = self.separator.join(tokens)
        unit = "character" if level == "char" else "word"
        super().__init__(
            partial(str, text),  # not a lambda: a shelf moving between workers is pickled
            name=name,
            title=f"Your text: {unit}-level language model",
            summary=f"Predict the next {unit} of the {len(tokens)} {unit}s you uploaded.",
        )
        if level == "word":
            defaults: dict[str, object] = {"seq_len": 10, "hidden_size": 64, "embedding_size": 16}
            self.info = replace(self.info, defaults=defaults)
        self._vocab = tuple(vocab)

    @cached_property
    def input_vocab(self) -> tuple[str, ...]:
        """The vocabulary the task was built with."""
        return self._vocab

    def split(self, text: str) -> list[str]:
        """The tokens of a text this task wrote: its characters, or its space-separated words."""
        return list(text) if self.level == "char" else text.split(self.separator)

    def tokenize(self, text: str) -> list[str]:
        """The tokens a user's text (a sample's prime) reads as, words as the file's were cut;
        a word outside the vocabulary reads as <unk> where the vocabulary has it."""
        if self.level == "char":
            return list(text)
        words = WORD.findall(text.lower())
        if UNK not in self.input_vocab:
            return words
        known = set(self.input_vocab)
        return [word if word in known else UNK for word in words]

    def encode(self, text: str) -> np.ndarray:
        """Ids of the tokens; a word outside the vocabulary reads as <unk>."""
        index = {token: i for i, token in enumerate(self.input_vocab)}
        tokens = self.split(text)
        if UNK in index:
            return np.array([index.get(t, index[UNK]) for t in tokens], dtype=np.int64)
        missing = [t for t in tokens if t not in index]
        if missing:
            raise ValueError(f"token {missing[0]!r} is not in this task's vocabulary")
        return np.array([index[t] for t in tokens], dtype=np.int64)

    def decode(self, ids: np.ndarray) -> str:
        """The tokens of a sequence of ids, joined as the text was."""
        return self.separator.join(self.output_vocab[int(i)] for i in ids)


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), both from 1, of a character offset into a text."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def read_text(data: bytes, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The file as text: size-checked, strict UTF-8, newlines normalised; not blank."""
    if len(data) > max_bytes:
        raise InputError("text", f"is {len(data)} bytes; the limit is {max_bytes}")
    text = decode_utf8(data, "text").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError("text", "is empty: upload a file with some text in it")
    return text


def _char_vocab(text: str, max_vocab: int, given: Sequence[str] | None) -> tuple[str, ...]:
    """Every distinct character, sorted; refused at the first one past the cap or the given set."""
    allowed = set(given) if given is not None else None
    seen: set[str] = set()
    for offset, ch in enumerate(text):
        if ch in seen:
            continue
        if allowed is not None and ch not in allowed:
            line, column = position(text, offset)
            message = f"character {ch!r} is not in the model's vocabulary"
            raise InputError("text", message, line=line, column=column)
        seen.add(ch)
        if len(seen) > max_vocab:
            line, column = position(text, offset)
            message = f"has more than {max_vocab} distinct characters; {ch!r} is one too many"
            raise InputError("text", message, line=line, column=column)
    return tuple(given) if given is not None else tuple(sorted(seen))


def _word_vocab(
    words: list[str], max_vocab: int, given: Sequence[str] | None, text: str
) -> tuple[str, ...]:
    """The most frequent words (ties alphabetical) plus <unk> if any were left out."""
    if given is not None:
        if UNK not in given:
            _refuse_unknown_word(text, set(given))
        return tuple(given)
    counts = Counter(words)
    if len(counts) <= max_vocab:
        return vocabulary(words)
    kept = sorted(counts, key=lambda w: (-counts[w], w))[: max_vocab - 1]
    return vocabulary(kept, specials=(UNK,))


def _refuse_unknown_word(text: str, allowed: set[str]) -> None:
    """InputError at the first word outside a vocabulary that has no <unk>."""
    for match in WORD.finditer(text.lower()):
        if match.group() not in allowed:
            line, column = position(text, match.start())
            message = f"word {match.group()!r} is not in the model's vocabulary (it has no <unk>)"
            raise InputError("text", message, line=line, column=column)


def text_task(
    text: str,
    *,
    level: str = "char",
    max_vocab: int = 256,
    vocab: Sequence[str] | None = None,
    name: str = "uploaded_text",
) -> TokenTextTask:
    """A character- or word-level task on a file's text (see read_text); InputError says what
    is wrong, where.

    `vocab`, when given (a loaded model's), fixes the vocabulary: characters outside it are
    refused, words outside it read as <unk> (refused if it has none).
    """
    if level == "char":
        if len(text) < MIN_PASTED_CHARS:
            message = f"has {len(text)} characters; at least {MIN_PASTED_CHARS} are needed"
            raise InputError("text", message)
        return TokenTextTask(
            list(text), _char_vocab(text, max_vocab, vocab), level="char", name=name
        )
    if level != "word":
        raise InputError("level", f"must be char or word; got {level!r}")
    words = WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        raise InputError("text", f"has {len(words)} words; at least {MIN_WORDS} are needed")
    return TokenTextTask(words, _word_vocab(words, max_vocab, vocab, text), level="word", name=name)
