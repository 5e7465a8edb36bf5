"""The session on every kind of lesson task: what each frame shows, and vectors, not text."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from app import protocol as p
from app.session import CommandRefused
from tests.test_session import make, preset, wire

TOKENS = {"loss", "accuracy"}
HELDOUT_METRICS = {
    "hello": TOKENS,
    "words": TOKENS | {"pronoun_accuracy", "verb_agreement"},
    "sentiment": TOKENS,
    "tagging": TOKENS | {"ambiguous_accuracy"},
    "melody": TOKENS | {"tune_accuracy"},
    "sine": {"loss", "mse", "zero_mse", "persistence_mse"},
    "adding-rnn-short": {"loss", "mse", "baseline_mse"},
    "remember-rnn-short": TOKENS,
    "numbers": TOKENS | {"exact_match"},
    "text": TOKENS | {"perplexity"},
}


@pytest.mark.parametrize(
    "name",
    [
        "hello",
        "words",
        "sentiment",
        "tagging",
        "melody",
        "sine",
        "adding-rnn-short",
        "remember-rnn-short",
        "numbers",
        "text",
    ],
)
def test_every_preset_steps_through_a_whole_iteration_and_trains(name: str) -> None:
    session = preset(name, batch_size=2)
    hello = wire(session.hello())
    T = hello["seq_len"]
    frames = [wire(f) for f in session.finish_iteration()]
    kinds = [f["type"] for f in frames]
    assert kinds == ["forward"] * T + ["backward"] * T + ["update", "sequence", "spectrum"]
    forwards = frames[:T]
    assert [f["t"] for f in forwards] == list(range(T))
    assert [f["input_token"] for f in forwards] == hello["tokens"]
    assert [f["target_token"] for f in forwards] == hello["targets"]
    assert any(f["counted"] for f in forwards)
    assert sorted(f["t"] for f in frames[T : 2 * T]) == list(range(T))
    progress = wire(session.train(3))
    assert progress["iteration"] == 4
    heldout = session.evaluate()  # held-out metrics of the task
    assert set(heldout) == HELDOUT_METRICS[name]
    assert all(isinstance(value, float) and np.isfinite(value) for value in heldout.values())


def test_many_to_one_counts_only_the_last_real_step() -> None:
    session = preset("sentiment")
    batch = session.iteration.batch
    words = int((batch.inputs[:, 0] != session.run.task.input_vocab.index("<pad>")).sum())
    label = ("negative", "positive")[int(batch.targets[0, 0])]
    forwards = [wire(session.step_forward()) for _ in range(session.iteration.length)]
    counted = [f for f in forwards if f["counted"]]
    assert [f["t"] for f in counted] == [words - 1]  # the review's last real word
    assert counted[0]["target_token"] == label
    assert counted[0]["loss"] == pytest.approx(-np.log(counted[0]["target_prob"]), rel=1e-5)
    assert all(f["loss"] == 0 and f["target_token"] == "" for f in forwards if not f["counted"])


def test_regression_frames_carry_prediction_and_truth() -> None:
    forward = wire(preset("sine").step_forward())
    assert forward["top"] == [] and forward["target_prob"] is None
    assert len(forward["target_value"]) == len(forward["y"]) == 1


def float32(values: object) -> object:
    """Values as the float32 the wire carries (None stays None)."""
    return None if values is None else np.asarray(values, np.float32).tolist()


@pytest.mark.parametrize("name", ["sine", "adding-rnn-short"])
def test_real_values_travel_as_vectors_not_text(name: str) -> None:
    session = preset(name, batch_size=2)
    batch = session.iteration.batch
    mask = np.ones(batch.targets.shape[:2]) if batch.loss_mask is None else batch.loss_mask
    T = session.iteration.length
    targets = [float32(batch.targets[t, 0]) if mask[t, 0] else None for t in range(T)]
    assert targets[-1] is not None and (name == "sine") == all(targets)
    for frame in (wire(session.hello()), wire(session.sequence())):
        assert frame["tokens"] == frame["targets"] == [""] * T
        assert float32(frame["input_values"]) == float32(batch.inputs[:, 0])  # (T, D)
        assert [float32(y) for y in frame["target_values"]] == targets
    for t in range(T):
        forward = wire(session.step_forward())
        assert forward["input_token"] == forward["target_token"] == ""
        assert float32(forward["x"]) == float32(batch.inputs[t, 0])
        assert float32(forward["target_value"]) == targets[t]


def test_token_frames_carry_no_vectors() -> None:
    session = preset("numbers")
    hello = wire(session.hello())
    assert hello["input_values"] is None and hello["target_values"] is None
    forward = wire(session.step_forward())
    assert forward["x"] is None and forward["input_token"] == hello["tokens"][0] != ""


def test_encoder_decoder_marks_its_phases_and_context() -> None:
    session = preset("numbers")
    hello = wire(session.hello())
    Te = hello["encoder_len"]
    assert 0 < Te < hello["seq_len"]
    assert hello["tokens"][Te] == "<sos>"
    assert all(target == "" for target in hello["targets"][:Te])
    frames = [wire(f) for f in session.finish_iteration()]
    forwards = [f for f in frames if f["type"] == "forward"]
    assert [f["phase"] for f in forwards] == ["encoder"] * Te + ["decoder"] * (len(forwards) - Te)
    backwards = [f for f in frames if f["type"] == "backward"]
    assert [f["t"] for f in backwards] == list(range(len(forwards) - 1, -1, -1))
    assert [f["phase"] for f in backwards] == ["decoder"] * (len(forwards) - Te) + ["encoder"] * Te
    assert all(np.isfinite(f["dh_norm"]) and f["flow_row"] == [] for f in backwards)
    with pytest.raises(CommandRefused) as refused:
        session.diagnose()  # the gradient lab measures single networks
    assert refused.value.code == "bad_phase"


def test_a_streamed_corpus_walks_on_and_carries_the_lstm_state() -> None:
    session = preset("text", cell="lstm", hidden_size=8, batch_size=2, seq_len=10)
    first = session.sequence().tokens
    session.finish_iteration()
    second = session.sequence().tokens
    assert first != second  # the cursor moved through the text
    carried = session.run.carried
    assert carried is not None and carried.shape == (2, 16)  # [h, c]
    np.testing.assert_array_equal(session.iteration.forward.run().h0, carried[:, :8])  # goes on


def test_pasted_text_becomes_the_task_and_travels_in_exports() -> None:
    session = make()
    text = "to be or not to be, that is the question. " * 3
    hello = session.use_text(text)
    assert hello.config.task == "pasted"
    assert set("".join(hello.tokens)) <= set(text)
    state = orjson.loads(p.encode(session.export()))["state"]
    assert state["text"] == text
    again = make()
    again.import_state(p.SessionState.model_validate(state))
    assert wire(again.step_forward()) == wire(session.step_forward())
    with pytest.raises(CommandRefused) as refused:
        session.use_text("   ")
    assert refused.value.field == "text"
    with pytest.raises(CommandRefused) as refused:
        make().configure(p.RunConfig(task="pasted"))
    assert refused.value.field == "config.task"
