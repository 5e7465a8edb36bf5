"""Part-of-speech tagging: many-to-many, one tag per word, equal lengths.

The words "fish", "duck", "watch", "book", "park", "play", "walk" and "can" are nouns after
a determiner ("the fish") and verbs after a pronoun or "can" ("we fish"): the tag depends on
the word before, which only the hidden state remembers. Sentences come from a tiny grammar,
drawn with a fixed seed; a fixed fifth of the distinct sentences is held out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.tasks.base import PAD, Batch, SentenceTask, TaskInfo, encode, split_every, vocabulary
from app.tasks.metrics import counted, masked_accuracy, score_tokens

TAGS = ("DET", "ADJ", "NOUN", "VERB", "PRON", "AUX", "ADP", "PUNCT")
DETERMINERS = ("the", "a", "my", "this")
ADJECTIVES = ("big", "small", "red", "old", "happy", "lazy")
NOUNS = ("dog", "cat", "girl", "boy", "bird", "teacher", "farmer")
VERBS = ("see", "like", "want", "read", "need", "love")
PRONOUNS = ("i", "you", "we", "they")
PREPOSITIONS = ("in", "near", "with", "on")
AMBIGUOUS = ("fish", "duck", "watch", "book", "park", "play", "walk")  # noun or verb
SENTENCES = 600  # distinct sentences drawn from the grammar
GRAMMAR_SEED = 20240501  # fixed: the data set is the same on every machine

Tagged = list[tuple[str, str]]


def _noun_phrase(rng: np.random.Generator, nouns: tuple[str, ...]) -> Tagged:
    phrase = [(str(rng.choice(DETERMINERS)), "DET")]
    if rng.random() < 0.4:
        phrase.append((str(rng.choice(ADJECTIVES)), "ADJ"))
    phrase.append((str(rng.choice(nouns)), "NOUN"))
    return phrase


def _verb(rng: np.random.Generator) -> tuple[str, str]:
    return str(rng.choice(VERBS + AMBIGUOUS)), "VERB"


def _sentence(rng: np.random.Generator) -> Tagged:
    """One sentence: a subject, an optional "can", a verb, then an object or a place."""
    if rng.random() < 0.5:
        subject: Tagged = [(str(rng.choice(PRONOUNS)), "PRON")]
    else:
        # A noun subject takes "can", keeping the verb's form the same for every subject.
        subject = [*_noun_phrase(rng, NOUNS), ("can", "AUX")]
    if subject[0][1] == "PRON" and rng.random() < 0.3:
        subject.append(("can", "AUX"))
    words = [*subject, _verb(rng)]
    things = NOUNS + AMBIGUOUS + ("can",)  # "the can": the auxiliary's twin is a noun here
    ending = rng.random()
    if ending < 0.5:
        words += _noun_phrase(rng, things)
    elif ending < 0.8:
        words += [(str(rng.choice(PREPOSITIONS)), "ADP"), *_noun_phrase(rng, things)]
    return [*words, (".", "PUNCT")]


def grammar_sentences(count: int = SENTENCES, seed: int = GRAMMAR_SEED) -> list[Tagged]:
    """`count` distinct tagged sentences, in the order they were first drawn."""
    rng = np.random.default_rng(seed)
    seen: dict[tuple[tuple[str, str], ...], None] = {}
    while len(seen) < count:
        seen.setdefault(tuple(_sentence(rng)), None)
    return [list(s) for s in seen]


class TaggingTask(SentenceTask):
    """Tag every word of a sentence with its part of speech."""

    info = TaskInfo(
        name="tagging",
        title="Tagging: parts of speech",
        summary=(
            "Give every word its part of speech; 'fish' after 'the' is a NOUN, after 'we' "
            "a VERB, so the tag needs the word before."
        ),
        defaults={"embedding_size": 8, "hidden_size": 16},
    )

    def __init__(self) -> None:
        self.sentences = grammar_sentences()
        self.input_vocab = vocabulary([w for s in self.sentences for w, _ in s], specials=(PAD,))
        self.output_vocab: tuple[str, ...] = TAGS
        self._words = [encode([w for w, _ in s], self.input_vocab) for s in self.sentences]
        self._tags = [encode([t for _, t in s], TAGS) for s in self.sentences]
        self.train_examples, self.heldout_examples = split_every(self.sentences, 5)
        self.seq_len = max(len(s) for s in self.sentences)
        self.info = replace(type(self).info, fixed_seq_len=self.seq_len)
        self._ambiguous = [self.input_vocab.index(w) for w in (*AMBIGUOUS, "can")]

    def _pair(self, example: int) -> tuple[list[int], list[int]]:
        """A sentence's words and their tags."""
        return self._words[example], self._tags[example]

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Loss and accuracy per word, and accuracy on the words that are noun or verb."""
        metrics = score_tokens(batch, ys)
        where = np.isin(batch.inputs, self._ambiguous) & (counted(batch) > 0)
        metrics["ambiguous_accuracy"] = masked_accuracy(batch, ys, where)
        return metrics
