"""Next-word prediction on short sentences: the autocomplete lesson, where a pronoun must agree.

"A girl walked into the bar and she ..." : predicting "she" needs the subject, several words
back. Sentences come from a small grammar; every combination is enumerated once, and a fixed
fifth of them is held out, so the held-out sentences are new combinations of known words.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np

from app.tasks.base import PAD, Batch, SentenceTask, TaskInfo, encode, split_every, vocabulary
from app.tasks.metrics import counted, masked_accuracy, score_tokens

SUBJECTS = {  # noun phrase -> the pronoun that refers back to it
    "a girl": "she",
    "the woman": "she",
    "my sister": "she",
    "the queen": "she",
    "a boy": "he",
    "the man": "he",
    "my brother": "he",
    "the king": "he",
    "the girls": "they",
    "my friends": "they",
    "the kids": "they",
}
PLACES = ("bar", "cafe", "shop", "park", "library", "kitchen", "garden", "station")
ACTIONS = ("sat down", "smiled", "ordered tea", "looked around", "went home", "was happy")
FRAMES = (
    "{subject} walked into the {place} and {pronoun} {action} .",
    "when {subject} saw the {place} , {pronoun} {action} .",
)
PRONOUNS = ("she", "he", "they")


def _sentence(frame: str, subject: str, place: str, action: str) -> list[str]:
    pronoun = SUBJECTS[subject]
    if pronoun == "they":
        action = action.replace("was", "were")  # the verb agrees too: they were
    return frame.format(subject=subject, place=place, pronoun=pronoun, action=action).split()


class NextWordTask(SentenceTask):
    """Predict each next word; the lesson's score is the pronoun (and was/were) agreement."""

    info = TaskInfo(
        name="words",
        title="Next-word prediction: autocomplete with agreement",
        summary=(
            "Predict the next word of short sentences; after 'and' or ',' the model must "
            "remember whether the subject was a girl, a boy or several kids."
        ),
        defaults={"embedding_size": 8, "hidden_size": 24},
    )

    def __init__(self) -> None:
        self.sentences = [
            _sentence(frame, subject, place, action)
            for frame, subject, place, action in product(FRAMES, SUBJECTS, PLACES, ACTIONS)
        ]
        self.input_vocab = vocabulary([w for s in self.sentences for w in s], specials=(PAD,))
        self.output_vocab = self.input_vocab
        self._encoded = [encode(s, self.input_vocab) for s in self.sentences]
        # A stride of 5 over the product order holds out a mix of subjects, places and frames.
        self.train_examples, self.heldout_examples = split_every(self.sentences, 5)
        # Steps per sentence: the longest minus one, as the last word is only ever a target.
        self.seq_len = max(len(s) for s in self.sentences) - 1
        self.info = replace(type(self).info, fixed_seq_len=self.seq_len)

    def _pair(self, example: int) -> tuple[list[int], list[int]]:
        """A sentence's words, and the same words one step ahead."""
        words = self._encoded[example]
        return words[:-1], words[1:]

    def score(self, batch: Batch, ys: np.ndarray) -> dict[str, float]:
        """Loss and accuracy over all words, and the two agreements that need memory.

        pronoun_accuracy: argmax accuracy where she, he or they is due. verb_agreement: where
        "was" or "were" is due, how often the model ranks the right form above the other (the
        action itself is a free choice, so only the form is predictable).
        """
        metrics = score_tokens(batch, ys)
        counted_steps = counted(batch) > 0
        pronouns = [self.input_vocab.index(w) for w in PRONOUNS]
        metrics["pronoun_accuracy"] = masked_accuracy(
            batch, ys, np.isin(batch.targets, pronouns) & counted_steps
        )
        was, were = self.input_vocab.index("was"), self.input_vocab.index("were")
        due = np.isin(batch.targets, (was, were)) & counted_steps
        if due.any():
            right = np.where(
                batch.targets == was, ys[..., was] > ys[..., were], ys[..., were] > ys[..., was]
            )
            metrics["verb_agreement"] = float(right[due].mean())
        return metrics
