"""The one training loop: seeded, reproducible, stateful where the task says so, and the same
whether a preset is trained by its tests or by a session."""

from __future__ import annotations

import numpy as np
import pytest

from app import protocol as p
from app.run.sampling import sample_text
from app.run.training import train, train_preset
from app.session import Session
from app.tasks import PRESETS, TASKS
from tests.test_session import LIMITS


def test_training_reproduces_bit_for_bit_at_a_seed() -> None:
    preset = PRESETS["tagging"]
    first, second = train_preset(preset, 20), train_preset(preset, 20)
    assert first.report.losses == second.report.losses
    for name, value in first.run.params.items():
        np.testing.assert_array_equal(value, second.run.params[name])
    other = train(TASKS["tagging"], {**preset.config, "seed": 99}, 20)
    assert other.report.losses != first.report.losses


def test_training_lowers_the_loss() -> None:
    preset = PRESETS["melody"]
    before = train_preset(preset, 0).evaluate()
    after = train_preset(preset, 100).evaluate()
    assert after["loss"] < 0.5 * before["loss"]


def test_character_model_walks_the_text_and_samples_at_a_temperature() -> None:
    result = train_preset(PRESETS["text"], 40)
    assert result.run.cursor == 40 * 25 % result.run.task.stream_length(16)  # type: ignore[attr-defined]
    carried = result.run.carried  # carried like min-char-rnn's hprev
    assert carried is not None and carried.shape == (16, 64)
    vocab = set(result.run.task.output_vocab)

    def draw(temperature: float) -> str:
        rng = np.random.default_rng(0)
        return sample_text(
            result.run.task,
            result.run.net,
            result.run.params,
            rng,
            200,
            prime="The ",
            temperature=temperature,
        )

    text = draw(0.8)
    assert len(text) == 200 and set(text) <= vocab
    assert draw(0.8) == text
    cold, hot = draw(0.1), draw(5.0)
    # A cold softmax repeats its favourites; a hot one spreads over the whole vocabulary.
    assert len(set(cold)) < len(set(hot))


def test_exploding_run_is_counted_not_applied() -> None:
    result = train_preset(PRESETS["gradients-linear-1.5"])
    assert result.report.skipped > 0
    assert all(np.isfinite(v).all() for v in result.run.params.values())


@pytest.mark.parametrize("name", ["hello", "text", "sentiment", "numbers", "gradients-relu-1.5"])
def test_a_session_trains_a_preset_exactly_as_the_trainer_does(name: str) -> None:
    preset = PRESETS[name]
    trained = train_preset(preset, 12)
    session = Session(p.RunConfig(**preset.config), LIMITS)  # type: ignore[arg-type]
    session.step_forward()  # an iteration stepped into is trained on from scratch
    for chunk in (1, 4, 7):  # as the server's training job grows its chunks
        session.train(chunk)
    assert len(trained.report.losses) == 12
    # The same floats, not just close ones (NaN where an exploding run overflowed).
    np.testing.assert_array_equal(session.run.loss_history, trained.report.losses)
    following = trained.run.current_batch()  # the batch the session is about to show
    np.testing.assert_array_equal(session.iteration.batch.inputs, following.inputs)
    assert session.run.cursor == following.next_cursor
    for param, value in trained.run.params.items():
        np.testing.assert_array_equal(session.run.params[param], value)
