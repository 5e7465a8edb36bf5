"""Exported NumPy scripts print the server's per-iteration losses, to 1e-12 relative in float64.

Each script runs in a subprocess with only NumPy; its printed losses are compared with the
project's training loop (app.run.training.train_iterations) on the same config, seed and data.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine import SingleNet, apply_gradients, make_optimizer
from app.export import RunPoint, data_code, numpy_script
from app.inputs import InputError
from app.models import load_torch_model
from app.protocol import RunConfig
from app.run.state import RunState, generators, init_spec
from app.run.training import train_iterations
from app.tasks.base import Task
from app.tasks.preset import STANDARD
from app.tasks.presets import PRESETS
from app.tasks.registry import TASKS
from app.tasks.uploaded import read_table, series_task, text_task
from tests.models.torch_reference import safetensors_bytes, sidecar_json, torch_tensors

ITERATIONS = 4
LINE = re.compile(r"^iteration (\d+): loss (\S+)$")
SMALL = {"hidden_size": 6, "batch_size": 3}


def run_script(source: str, path: Path) -> list[tuple[int, float]]:
    """(iteration, loss) of every line the script prints, run by a fresh interpreter."""
    path.write_text(source, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [(int(m.group(1)), float(m.group(2))) for m in matches if m]


def weather() -> Task:
    rows = ["day,temperature,rain"]
    rows += [f"{d},{10 + 5 * np.sin(d / 3):.3f},{(d * 7) % 5}" for d in range(60)]
    return series_task(read_table("\n".join(rows).encode()), "temperature", ["rain", 1])


def words() -> Task:
    text = "the cat sat on the mat . the dog sat on the log , and the cat ran . " * 12
    return text_task(text, level="word", max_vocab=8)


def preset(name: str, **overrides: Any) -> tuple[Callable[[], Task], dict[str, Any]]:
    found = PRESETS[name]
    return lambda: TASKS[found.task], {**found.config, **SMALL, **overrides}


def uploaded(factory: Callable[[], Task], **overrides: Any) -> tuple[Callable[[], Task], dict]:
    return factory, {**STANDARD, **SMALL, "seq_len": 6, **overrides}


# Every cell, activation, input kind, head, architecture, optimizer, clipping mode and init
# scheme appears at least once; truncation and stateful text streams too.
CASES = {
    "hello-rnn-tanh-adagrad-value": preset("hello"),
    "text-rnn-relu-sgd-norm-truncated": preset(
        "text", activation="relu", optimizer="sgd", seq_len=8, truncation=3
    ),
    "text-lstm-rmsprop": preset("text", cell="lstm", optimizer="rmsprop", seq_len=8),
    "words-lstm-embedding-masked": preset("words", cell="lstm"),
    "sentiment-gru-many-to-one-momentum": preset("sentiment", cell="gru", optimizer="momentum"),
    "tagging-torch-gru-onehot-truncated": preset(
        "tagging", cell="gru_torch", embedding_size=0, truncation=2
    ),
    "melody-rnn-sigmoid-one-to-many": preset("melody", activation="sigmoid"),
    "sine-torch-gru-linear-no-clip": preset(
        "sine", cell="gru_torch", optimizer="momentum", clip_mode="none"
    ),
    "adding-rnn-linear-many-to-one-truncated": preset(
        "adding-rnn-short", activation="linear", truncation=2
    ),
    "remember-lstm-identity-radius-value": preset(
        "gradients-tanh-1.5", cell="lstm", clip_mode="value"
    ),
    "remember-rnn-orthogonal": preset("gradients-relu-1.0", init="orthogonal"),
    "csv-series-lstm-adam": uploaded(weather, cell="lstm"),
    "word-text-torch-gru-embedding-truncated": uploaded(
        words, cell="gru_torch", embedding_size=3, truncation=2
    ),
}


def start(task: Task, config: Mapping[str, Any]) -> RunState:
    """A fresh run; "gru_torch" builds torch's GRU, which a run's config does not offer."""
    torch_form = config["cell"] == "gru_torch"
    run = RunState.start(
        task, RunConfig.model_validate({**config, "cell": "gru"} if torch_form else dict(config))
    )
    if torch_form:
        run.net = SingleNet(replace(run.net.spec, cell="gru_torch"))
        run.params = run.net.init_params(init_spec(run.config), generators(run.config.seed)[0])
    return run


def trained(task: Task, config: Mapping[str, Any], iterations: int) -> tuple[RunState, list[float]]:
    """A run after `iterations` updates, and their losses."""
    run = start(task, config)
    return run, train_iterations(run, iterations).losses


def script(
    task: Task, config: Mapping[str, Any], iterations: int, point: RunPoint | None = None
) -> str:
    run = start(task, config)
    return numpy_script(task, run.config, run.net, iterations, point)


@pytest.mark.parametrize("case", list(CASES))
def test_a_script_from_the_seed_prints_the_servers_losses(case: str, tmp_path: Path) -> None:
    factory, config = CASES[case]
    task = factory()
    printed = run_script(script(task, config, ITERATIONS), tmp_path / "run.py")
    assert [n for n, _ in printed] == list(range(1, ITERATIONS + 1))
    _, expected = trained(task, config, ITERATIONS)
    np.testing.assert_allclose([loss for _, loss in printed], expected, rtol=1e-12, atol=0)


def point_after(task: Task, config: Mapping[str, Any], iterations: int) -> RunPoint:
    """Where a run stands after `iterations` updates."""
    done, _ = trained(task, config, iterations)
    return RunPoint(
        iteration=iterations,
        params=done.params,
        optimizer=done.optimizer.state_dict(),
        cursor=done.cursor,
        rng_state=done.data_rng.bit_generator.state,
        state=done.carried,
    )


@pytest.mark.parametrize(
    "case",
    [
        "text-lstm-rmsprop",  # mid-stream: the carried [h, c] and the cursor
        "sentiment-gru-many-to-one-momentum",  # recorded batches after the data generator moved
        "csv-series-lstm-adam",  # the window draws continue the run's generator; Adam's t
        "word-text-torch-gru-embedding-truncated",
    ],
)
def test_a_script_from_the_current_weights_continues_the_run(case: str, tmp_path: Path) -> None:
    factory, config = CASES[case]
    task = factory()
    done = 3
    source = script(task, config, ITERATIONS, point_after(task, config, done))
    printed = run_script(source, tmp_path / "run.py")
    assert [n for n, _ in printed] == list(range(done + 1, done + ITERATIONS + 1))
    expected = trained(task, config, done + ITERATIONS)[1][done:]
    np.testing.assert_allclose([loss for _, loss in printed], expected, rtol=1e-12, atol=0)


def test_a_loaded_torch_model_exports_with_its_own_spec(tmp_path: Path) -> None:
    task = weather()  # reads rain and temperature, forecasts temperature
    tensors = torch_tensors("nn.GRU", 2, 5, outputs=1, dtype=np.float64)
    side = sidecar_json(kind="features", inputs=["rain", "temperature"], outputs=["temperature"])
    model = load_torch_model(safetensors_bytes(tensors), side)
    config = RunConfig.model_validate({**STANDARD, **SMALL, "seq_len": 6})
    optimizer = make_optimizer(config.optimizer, config.learning_rate)
    _, data_rng = generators(config.seed)
    point = RunPoint(0, model.params, optimizer.state_dict(), 0, data_rng.bit_generator.state)
    source = numpy_script(task, config, SingleNet(model.spec), ITERATIONS, point)
    assert "torch.nn.GRU's form" in source and "b_hh" in source
    params = {name: value.copy() for name, value in model.params.items()}
    net = SingleNet(model.spec)
    expected = []
    for _ in range(ITERATIONS):  # the server's loop, from the loaded weights
        batch = task.train_batch(data_rng, SMALL["batch_size"], 6)
        loss, grads, _ = net.loss_and_grads(params, batch, None, None)
        apply_gradients(params, optimizer, grads, config.clip_mode, config.clip_threshold)
        expected.append(loss)
    printed = run_script(source, tmp_path / "run.py")
    np.testing.assert_allclose([loss for _, loss in printed], expected, rtol=1e-12, atol=0)


def imported(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_a_script_needs_only_numpy_and_carries_only_its_runs_code() -> None:
    factory, config = CASES["hello-rnn-tanh-adagrad-value"]
    plain = script(factory(), config, 2)
    assert imported(plain) == {"numpy"}
    for absent in ("def sigmoid", "K = ", "np.add.at", "first[name]", "orthogonal", "c0"):
        assert absent not in plain, absent
    assert "np.clip(g, -clip_threshold" in plain and "mem[name] += g * g" in plain
    factory, config = CASES["words-lstm-embedding-masked"]
    lstm = script(factory(), config, 2, point_after(factory(), config, 1))
    assert imported(lstm) == {"numpy", "base64"}  # exact weights travel as base64
    for present in ("def sigmoid", 'np.add.at(grads["E"]', "c0", "updates = 1", "m_hat"):
        assert present in lstm, present


def test_an_encoder_decoder_run_is_refused_with_a_clear_message() -> None:
    numbers = PRESETS["numbers"]
    with pytest.raises(
        InputError, match="encoder-decoder run as a script is not supported"
    ) as info:
        script(TASKS["numbers"], numbers.config, 2)
    assert info.value.field == "task"


def test_no_iterations_is_refused() -> None:
    factory, config = CASES["hello-rnn-tanh-adagrad-value"]
    with pytest.raises(InputError, match="must be at least 1; got 0") as info:
        script(factory(), config, 0)
    assert info.value.field == "iterations"


def test_too_many_recorded_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_code, "MAX_EMBEDDED_VALUES", 100)
    factory, config = CASES["sentiment-gru-many-to-one-momentum"]
    with pytest.raises(InputError, match="export fewer iterations") as info:
        script(factory(), config, 50)
    assert info.value.field == "iterations"
