"""Uploaded text files become character- or word-level tasks, or a clear error naming the place."""

from __future__ import annotations

import numpy as np
import pytest

from app.inputs import InputError
from app.run.training import train
from app.tasks.base import UNK
from app.tasks.preset import STANDARD
from app.tasks.uploaded import read_text, text_task
from app.tasks.uploaded.text import MIN_WORDS

RHYME = "Humpty Dumpty sat on a wall,\nHumpty Dumpty had a great fall.\n" * 4
CONFIG = {**STANDARD, "cell": "lstm", "hidden_size": 8, "seq_len": 5, "batch_size": 2, "seed": 3}


def test_a_character_task_walks_the_file_like_min_char_rnn() -> None:
    task = text_task(read_text(("\ufeff" + RHYME.replace("\n", "\r\n")).encode()))
    assert task.text == RHYME  # byte-order mark dropped, newlines normalised
    assert task.input_vocab == tuple(sorted(set(RHYME))) == task.output_vocab
    assert task.info.name == "uploaded_text" and task.info.input_kind == "onehot"
    first = task.train_batch(np.random.default_rng(0), 2, 5, cursor=0)
    assert task.decode(first.inputs[:, 0]) == RHYME[:5]
    assert task.decode(first.targets[:, 0]) == RHYME[1:6]
    second = task.train_batch(np.random.default_rng(0), 2, 5, cursor=first.next_cursor)
    assert second.stateful and task.decode(second.inputs[:, 0]) == RHYME[5:10]
    tail = task.decode(task.heldout_batch(5).inputs[:, 0])
    assert tail == RHYME[int(len(RHYME) * 0.9) : int(len(RHYME) * 0.9) + 5]
    result = train(task, CONFIG, 3)
    assert len(result.report.losses) == 3 and all(np.isfinite(result.report.losses))
    heldout = result.evaluate()  # the held-out split and the task's metrics, as a session asks
    assert np.isfinite(heldout["loss"]) and 0 <= heldout["accuracy"] <= 1


def test_a_word_task_keeps_the_most_frequent_words_and_reads_the_rest_as_unk() -> None:
    task = text_task(RHYME, level="word", max_vocab=5)
    # humpty, dumpty and "a" appear 8 times, the rest 4; ties go alphabetically: "," first
    assert task.input_vocab == (UNK, ",", "a", "dumpty", "humpty")
    words = task.decode(task.ids[:8]).split(" ")
    assert words == ["humpty", "dumpty", UNK, UNK, "a", UNK, ",", "humpty"]
    assert task.info.defaults["embedding_size"] == 16
    assert "word" in task.info.title
    whole = text_task(RHYME, level="word")
    assert UNK not in whole.input_vocab and len(whole.input_vocab) == 11
    assert whole.decode(whole.ids[:7]) == "humpty dumpty sat on a wall ,"
    losses = train(whole, {**CONFIG, "cell": "gru", "embedding_size": 4}, 2).report.losses
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_a_loaded_models_vocabulary_fixes_the_tokens() -> None:
    vocab = (*sorted(set(RHYME)), "z")
    task = text_task(RHYME, vocab=vocab)
    assert task.input_vocab == vocab
    with pytest.raises(InputError, match="character 'q' is not in the model's vocabulary") as info:
        text_task(RHYME + "quiet", vocab=vocab)
    assert (info.value.line, info.value.column) == (9, 1)
    words = text_task(RHYME, level="word", vocab=(UNK, "humpty", "dumpty"))
    assert words.decode(words.ids[:3]) == f"humpty dumpty {UNK}"
    with pytest.raises(InputError, match="word 'sat' is not in the model's vocabulary") as info:
        text_task(RHYME, level="word", vocab=("humpty", "dumpty"))
    assert (info.value.line, info.value.column) == (1, 15)


@pytest.mark.parametrize(
    ("data", "kwargs", "message", "line", "column"),
    [
        (b"ab\ncd\xffe" + b"x" * 200, {}, r"not UTF-8 text: byte 5 \(0xff\)", 2, 3),
        ("h\u00e9\n\u00e9".encode() + b"\xc3", {}, "byte 6", 2, 2),
        (b"", {}, "is empty", None, None),
        (b" \n\t \n", {}, "is empty", None, None),
        (b"a" * 1001, {}, "is 1001 bytes; the limit is 1000", None, None),
        (b"hello there", {}, "has 11 characters; at least 100", None, None),
        (b"a b c " * 8, {"level": "word"}, f"has 24 words; at least {MIN_WORDS}", None, None),
        (b"abc\nabcd" + b"a" * 100, {"max_vocab": 4}, "more than 4 distinct characters; 'd'", 2, 4),
        (RHYME.encode(), {"level": "syllable"}, "must be char or word", None, None),
    ],
)
def test_bad_text_is_refused_naming_line_column_and_reason(
    data: bytes, kwargs: dict[str, object], message: str, line: int | None, column: int | None
) -> None:
    with pytest.raises(InputError, match=message) as info:
        text_task(read_text(data, max_bytes=1000), **kwargs)  # type: ignore[arg-type]
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.field == ("level" if kwargs.get("level") == "syllable" else "text")
