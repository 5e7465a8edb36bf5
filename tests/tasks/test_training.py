"""The shared training helper: seeded, reproducible, stateful where the task says so."""

from __future__ import annotations

import numpy as np

from app.tasks import PRESETS, TASKS
from app.tasks.training import evaluate, sample_text, train, train_preset


def test_training_reproduces_bit_for_bit_at_a_seed() -> None:
    preset = PRESETS["tagging"]
    first, second = train_preset(preset, 20), train_preset(preset, 20)
    assert first.losses == second.losses
    for name, value in first.params.items():
        np.testing.assert_array_equal(value, second.params[name])
    other = train(TASKS["tagging"], {**preset.config, "seed": 99}, 20)
    assert other.losses != first.losses


def test_training_lowers_the_loss() -> None:
    preset = PRESETS["melody"]
    before = evaluate(
        TASKS["melody"], train_preset(preset, 0).params, train_preset(preset, 0).spec, 14
    )
    after = train_preset(preset, 100).evaluate()
    assert after["loss"] < 0.5 * before["loss"]


def test_character_model_walks_the_text_and_samples_at_a_temperature() -> None:
    result = train_preset(PRESETS["text"], 40)
    assert result.cursor == 40 * 25 % result.task.stream_length(16)  # type: ignore[attr-defined]
    assert result.h is not None and result.h.shape == (16, 64)  # carried like min-char-rnn's hprev
    vocab = set(result.task.output_vocab)

    def draw(temperature: float) -> str:
        rng = np.random.default_rng(0)
        return sample_text(
            result.task, result.spec, result.params, rng, 200, prime="The ", temperature=temperature
        )

    text = draw(0.8)
    assert len(text) == 200 and set(text) <= vocab
    assert draw(0.8) == text
    cold, hot = draw(0.1), draw(5.0)
    # A cold softmax repeats its favourites; a hot one spreads over the whole vocabulary.
    assert len(set(cold)) < len(set(hot))


def test_exploding_run_is_counted_not_applied() -> None:
    result = train_preset(PRESETS["gradients-linear-1.5"])
    assert result.skipped > 0
    assert all(np.isfinite(v).all() for v in result.params.values())
