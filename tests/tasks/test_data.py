"""Each task's data: shapes, vocabularies, masks, splits and determinism."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise

import numpy as np
import pytest

from app.tasks import TASKS
from app.tasks.base import EOS, PAD, SOS, last_step_mask
from app.tasks.melody import MelodyTask
from app.tasks.memory import CONSTANT_BASELINE_MSE, AddingTask, RememberTask
from app.tasks.numbers import NumbersTask, number_words
from app.tasks.sentiment import MAX_WORDS, SentimentTask, reviews
from app.tasks.tagging import AMBIGUOUS, TaggingTask
from app.tasks.text import MAX_PASTED_CHARS, corpus_task, pasted_text_task, shipped_corpus
from app.tasks.words import NextWordTask


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_batches_fit_the_task_vocabularies(name: str) -> None:
    task = TASKS[name]
    seq_len = task.info.fixed_seq_len or 12
    for batch in (task.train_batch(rng(), 5, seq_len), task.heldout_batch(seq_len)):
        T, B = batch.inputs.shape[:2]
        assert batch.targets.shape[:2] == (batch.targets.shape[0], B)
        if task.info.input_kind == "real":
            assert task.input_vocab == () and task.info.head == "linear"
            assert batch.inputs.shape == (T, B, task.info.input_size)
            assert batch.targets.shape[2] == task.info.output_size
        else:
            assert batch.inputs.dtype.kind == "i" and batch.targets.dtype.kind == "i"
            assert batch.inputs.min() >= 0 and batch.inputs.max() < len(task.input_vocab)
            assert batch.targets.min() >= 0 and batch.targets.max() < len(task.output_vocab)
        if batch.loss_mask is not None:
            assert batch.loss_mask.shape == batch.targets.shape[:2]
            assert set(np.unique(batch.loss_mask)) <= {0.0, 1.0}
            assert (batch.loss_mask.sum(axis=0) >= 1).all()
        if task.info.architecture != "encoder_decoder":
            assert seq_len == T


@pytest.mark.parametrize("name", sorted(TASKS))
def test_heldout_split_is_deterministic_and_training_is_seeded(name: str) -> None:
    task = TASKS[name]
    seq_len = task.info.fixed_seq_len or 12
    first, second = task.heldout_batch(seq_len), task.heldout_batch(seq_len)
    np.testing.assert_array_equal(first.inputs, second.inputs)
    np.testing.assert_array_equal(first.targets, second.targets)
    a, b = task.train_batch(rng(3), 4, seq_len), task.train_batch(rng(3), 4, seq_len)
    np.testing.assert_array_equal(a.inputs, b.inputs)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_perfect_model_scores_perfectly_and_a_uniform_one_at_chance(name: str) -> None:
    task = TASKS[name]
    batch = task.heldout_batch(task.info.fixed_seq_len or 12)
    if task.info.head == "linear":
        assert task.score(batch, batch.targets.astype(float))["mse"] == 0.0
        assert task.score(batch, batch.targets + 1.0)["mse"] == pytest.approx(1.0)
        return
    V = len(task.output_vocab)
    perfect = np.eye(V)[batch.targets]  # (T, B, V) all mass on the target
    metrics = task.score(batch, perfect)
    assert metrics["accuracy"] == 1.0 and metrics["loss"] == pytest.approx(0.0)
    uniform = np.full(perfect.shape, 1.0 / V)
    assert task.score(batch, uniform)["loss"] == pytest.approx(np.log(V))


def test_dataset_splits_do_not_overlap() -> None:
    words = NextWordTask()
    assert not {tuple(words.sentences[i]) for i in words.train_examples} & {
        tuple(words.sentences[i]) for i in words.heldout_examples
    }
    tagging = TaggingTask()
    train = {tuple(tagging.sentences[i]) for i in tagging.train_examples}
    assert not train & {tuple(tagging.sentences[i]) for i in tagging.heldout_examples}
    numbers = NumbersTask()
    assert not set(numbers.train_examples) & set(numbers.heldout_examples)
    assert len(numbers.train_examples) + len(numbers.heldout_examples) == 1000
    sentiment = SentimentTask()
    assert not set(sentiment._split[0]) & set(sentiment._split[1])


def test_heldout_words_are_known_from_training() -> None:
    numbers = NumbersTask()
    seen = {w for n in numbers.train_examples for w in number_words(int(n))}
    assert seen == set(numbers.input_vocab) - {PAD}
    tagging = TaggingTask()
    seen = {w for i in tagging.train_examples for w, _ in tagging.sentences[i]}
    assert seen == set(tagging.input_vocab) - {PAD}


def test_number_words() -> None:
    assert number_words(0) == ["zero"]
    assert number_words(17) == ["seventeen"]
    assert number_words(40) == ["forty"]
    assert number_words(342) == ["three", "hundred", "forty", "two"]
    assert number_words(500) == ["five", "hundred"]
    assert number_words(905) == ["nine", "hundred", "five"]
    with pytest.raises(ValueError):
        number_words(1000)


def test_numbers_batch_is_an_encoder_decoder_batch() -> None:
    task = NumbersTask()
    batch = task._batch(np.array([304, 17]))
    vocab = task.output_vocab
    assert [task.input_vocab[i] for i in batch.inputs[:3, 0]] == ["three", "hundred", "four"]
    assert batch.source_lengths is not None and batch.source_lengths.tolist() == [3, 1]
    assert [vocab[i] for i in batch.targets[:, 0]] == ["3", "0", "4", EOS]
    assert [vocab[i] for i in batch.targets[:3, 1]] == ["1", "7", EOS]
    assert batch.loss_mask is not None and batch.loss_mask[:, 1].tolist() == [1, 1, 1, 0]
    assert batch.decoder_inputs is not None
    assert [vocab[i] for i in batch.decoder_inputs[:, 0]] == [SOS, "3", "0", "4"]


def test_many_to_one_masks_count_only_the_last_real_step() -> None:
    task = SentimentTask()
    batch = task.heldout_batch(task.seq_len)
    assert batch.loss_mask is not None
    pad = task.input_vocab.index(PAD)
    lengths = (batch.inputs != pad).sum(axis=0)
    assert (batch.loss_mask.sum(axis=0) == 1).all()
    assert (batch.loss_mask.argmax(axis=0) == lengths - 1).all()
    assert set(batch.targets[0]) == {0, 1}  # both labels are held out
    for memory in (AddingTask(), RememberTask()):
        mask = memory.heldout_batch(15).loss_mask
        assert mask is not None and mask[-1].all() and not mask[:-1].any()


def test_last_step_mask_checks_the_lengths() -> None:
    np.testing.assert_array_equal(last_step_mask([2, 3, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="lengths must lie in"):
        last_step_mask([0, 2], 3)
    with pytest.raises(ValueError, match="lengths must lie in"):
        last_step_mask([4], 3)
    with pytest.raises(ValueError, match="integer"):
        last_step_mask([1.5], 3)  # type: ignore[list-item]


def test_reviews_are_balanced_and_short() -> None:
    data = reviews()
    labels = [label for _, label in data]
    assert len(data) >= 200 and labels.count(1) == labels.count(0)
    assert max(len(review.split()) for review, _ in data) <= MAX_WORDS


def test_adding_problem_constant_baseline_is_one_sixth() -> None:
    batch = AddingTask().train_batch(rng(0), 200_000, 6)
    sums = batch.targets[-1, :, 0]
    markers = batch.inputs[:, :, 1]
    assert (markers.sum(axis=0) == 2).all()
    assert (markers[:3].sum(axis=0) == 1).all()  # one marker in each half
    assert pytest.approx(1 / 6) == CONSTANT_BASELINE_MSE
    # The best constant is the mean, 1; its MSE is Var(x1 + x2) = 1/6, not 2/3.
    assert sums.mean() == pytest.approx(1.0, abs=0.01)
    assert ((sums - 1.0) ** 2).mean() == pytest.approx(CONSTANT_BASELINE_MSE, rel=0.02)


def test_remember_puts_the_answer_first_and_the_question_last() -> None:
    task = RememberTask()
    batch = task.train_batch(rng(1), 64, 20)
    assert (batch.inputs[0] == batch.targets[-1]).all()
    assert (batch.inputs[-1] == task.input_vocab.index("?")).all()
    distractors = batch.inputs[1:-1]
    assert ((distractors >= 4) & (distractors < 8)).all()


def test_melody_has_one_informative_input() -> None:
    task = MelodyTask()
    batch = task.heldout_batch(14)
    assert (batch.inputs[1:] == task.input_vocab.index("_")).all()
    c_major = "".join(task.output_vocab[i] for i in batch.targets[:, 0])
    assert c_major == "CCGGAAGFFEEDDC"


def test_tagging_resolves_ambiguity_from_the_left_context() -> None:
    task = TaggingTask()
    for sentence in task.sentences:
        for (previous, _), (word, tag) in pairwise(sentence):
            if word in AMBIGUOUS:
                expected = "NOUN" if previous not in ("i", "you", "we", "they", "can") else "VERB"
                assert tag == expected, sentence


def test_shipped_corpus() -> None:
    text = shipped_corpus()
    assert 20_000 < len(text.encode()) < 100_000
    assert "Shall I compare thee to a summer's day?" in text
    task = corpus_task()
    assert len(task.input_vocab) < 100
    assert task.decode(task.encode("Humpty")) == "Humpty"


def test_text_stream_walks_like_min_char_rnn() -> None:
    task = corpus_task()
    first = task.train_batch(rng(), 4, 25, cursor=0)
    assert not first.stateful and first.next_cursor == 25
    second = task.train_batch(rng(), 4, 25, cursor=first.next_cursor)
    assert second.stateful and second.next_cursor == 50
    # Each stream continues where it stopped: the new window starts at the old window's end.
    np.testing.assert_array_equal(second.inputs[0], first.targets[-1])
    np.testing.assert_array_equal(first.targets[:-1], first.inputs[1:])
    near_end = task.stream_length(4) - 25
    wrapped = task.train_batch(rng(), 4, 25, cursor=near_end)
    assert not wrapped.stateful and wrapped.next_cursor == 25  # back to the start, h reset
    np.testing.assert_array_equal(wrapped.inputs, first.inputs)
    windows = task.train_batch(rng(), 4, 25)
    assert not windows.stateful and windows.next_cursor is None


def test_text_heldout_is_the_unseen_tail() -> None:
    task = corpus_task()
    batch = task.heldout_batch(25)
    tail = task.decode(batch.inputs[:, 0])
    assert tail in task.text[int(len(task.text) * 0.9) - 1 :]
    assert tail not in task.text[: int(len(task.text) * 0.9) - 25]


def test_pasted_text_is_validated_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        pasted_text_task("   \n ")
    with pytest.raises(ValueError, match="too long: 50001 characters, the limit is 50000"):
        pasted_text_task("a" * (MAX_PASTED_CHARS + 1))
    with pytest.raises(ValueError, match="too short"):
        pasted_text_task("hello there")
    many = "".join(chr(0x4E00 + i) for i in range(150))
    with pytest.raises(ValueError, match="too many distinct characters: 150, the limit is 100"):
        pasted_text_task(many)
    with pytest.raises(ValueError, match="must be a string"):
        pasted_text_task(b"bytes" * 100)  # type: ignore[arg-type]
    task = pasted_text_task("the cat sat on the mat.\r\n" * 10, max_vocab=20)
    assert "\r" not in task.input_vocab and task.info.name == "pasted"
    with pytest.raises(ValueError, match="too short for 16 streams of seq_len 25"):
        task.train_batch(rng(), 16, 25, cursor=0)


def test_importing_the_package_reads_no_data_file() -> None:
    code = (
        "import app.tasks\n"
        "from app.tasks.sentiment import reviews\n"
        "from app.tasks.text import shipped_corpus\n"
        "assert reviews.cache_info().misses == 0\n"
        "assert shipped_corpus.cache_info().misses == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
