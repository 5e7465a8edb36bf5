"""Every preset is a valid run configuration and reaches its stated result at its seed."""

from __future__ import annotations

import json

import pytest

from app.protocol import RunConfig
from app.run.training import train_preset
from app.tasks import PRESETS, TASKS, Expectation, describe_presets, describe_tasks


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_config_is_a_complete_run_config(name: str) -> None:
    preset = PRESETS[name]
    config = RunConfig.model_validate(dict(preset.config))
    # Every field is spelled out, so a change of protocol defaults cannot change the preset.
    assert set(preset.config) == set(RunConfig.model_fields)
    assert config.task == preset.task
    assert preset.task in TASKS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_reaches_its_stated_result(name: str) -> None:
    preset = PRESETS[name]
    metrics = train_preset(preset).evaluate()
    for expectation in preset.expectations:
        value = metrics[expectation.metric]
        assert expectation.met(value), f"{preset.statement()} Got {expectation.metric}={value:.4g}"


def test_every_task_has_a_preset() -> None:
    assert {p.task for p in PRESETS.values()} == set(TASKS)


def test_lessons_state_their_presets_numbers() -> None:
    for preset in PRESETS.values():
        lesson = preset.lesson
        assert lesson.startswith("# "), preset.name
        assert "Try next" in lesson and "Stated result" in lesson, preset.name
        for expectation in preset.expectations:
            for bound in (expectation.below, expectation.above):
                if bound is not None and expectation.metric in ("loss", "accuracy", "mse"):
                    assert f"{bound:g}" in lesson, f"{preset.name}: {bound:g} not in its lesson"


def test_long_range_lesson_contrasts_vanilla_and_gated_cells() -> None:
    short, long, gated = (
        PRESETS[n] for n in ("adding-rnn-short", "adding-rnn-long", "adding-gru-long")
    )
    assert short.config["cell"] == long.config["cell"] == "rnn"
    assert gated.config["cell"] == "gru"
    assert long.config["seq_len"] == gated.config["seq_len"] > short.config["seq_len"]
    assert long.expectations[0].above is not None  # the vanilla RNN is expected to fail
    assert gated.expectations[0].below is not None  # the GRU is expected to succeed


def test_gradient_presets_cover_every_radius_and_activation() -> None:
    for activation in ("tanh", "relu", "linear"):
        for radius in (0.5, 1.0, 1.5):
            preset = PRESETS[f"gradients-{activation}-{radius}"]
            assert preset.config["spectral_radius"] == radius
            assert preset.config["activation"] == activation
            assert preset.config["clip_mode"] == "none"
        clipped = PRESETS[f"gradients-{activation}-1.5-clipped"]
        unclipped = PRESETS[f"gradients-{activation}-1.5"]
        assert clipped.config["clip_mode"] == "norm"
        differing = {k for k in clipped.config if clipped.config[k] != unclipped.config[k]}
        assert differing == {"clip_mode", "clip_threshold"}


def test_descriptions_are_json() -> None:
    tasks = json.loads(json.dumps(describe_tasks()))
    presets = json.loads(json.dumps(describe_presets()))
    assert [t["name"] for t in tasks] == list(TASKS)
    assert [p["name"] for p in presets] == list(PRESETS)
    assert all(p["statement"].startswith("After ") for p in presets)
    sine = next(t for t in tasks if t["name"] == "sine")
    assert sine["input_vocab"] == [] and sine["input_size"] == 1 and sine["head"] == "linear"


def test_expectation_bounds() -> None:
    band = Expectation("x", above=1.0, below=2.0)
    assert band.met(1.5)
    assert not band.met(0.5) and not band.met(2.5) and not band.met(float("nan"))
    assert Expectation("loss", below=0.2).describe() == "held-out loss below 0.2"
    with pytest.raises(ValueError, match="needs a bound"):
        Expectation("loss")
