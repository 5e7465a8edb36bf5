"""A session learns from uploaded files (use_upload), with a loaded torch model if named: the
model is the run's network while the run's knobs build it, a refusal leaves the run untouched,
and a saved run carries the data and the model so it opens again."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import orjson
import pytest

from app import protocol as p
from app.run.refusal import CommandRefused
from app.run.shelf import TextFile, read_upload
from app.run.state import generators
from app.session import Session
from app.tasks.base import UNK
from app.web.sessions import limits_from
from app.web.settings import Settings
from tests.models.torch_reference import torch_forward
from tests.run.uploadutil import (
    COLUMNS,
    RHYME,
    VOCAB,
    model_upload,
    read_model,
    series_upload,
    text_upload,
    torch_files,
    use,
)
from tests.run.uploadutil import LIMITS as UPLOAD_LIMITS

SERVER = limits_from(Settings())


def fresh() -> Session:
    return Session(p.RunConfig(), SERVER)


def test_a_csv_file_becomes_a_forecast_with_its_normalisation_shown() -> None:
    session = fresh()
    hello = use(session, series_upload(), target="temperature", inputs=["rain", "temperature"])
    assert hello.config.task == "uploaded"
    assert (hello.config.seq_len, hello.config.hidden_size) == (11, 16)  # the task's defaults
    assert hello.upload is not None and hello.upload.kind == "series"
    assert (hello.upload.name, hello.upload.target) == ("weather.csv", "temperature")
    task = session.run.task
    assert hello.upload.inputs == ["rain", "temperature"] == list(task.inputs)  # type: ignore[attr-defined]
    scaling = task.scaling  # type: ignore[attr-defined]
    assert hello.upload.scaling == {
        name: p.ColumnScaling(mean=s.mean, std=s.std) for name, s in scaling.items()
    }
    assert hello.input_values is not None and len(hello.input_values[0]) == 2
    progress = session.train(3)
    assert progress.iteration == 3 and progress.heldout is not None
    assert {"mse", "zero_mse", "persistence_mse"} <= set(progress.heldout)


def test_by_default_the_last_column_is_forecast_from_its_own_past() -> None:
    session = fresh()
    hello = use(session, series_upload())
    assert hello.upload is not None
    assert (hello.upload.target, hello.upload.inputs) == ("rain", ["rain"])


def test_a_word_level_text_samples_words() -> None:
    session = fresh()
    hello = use(session, text_upload("word"))
    assert hello.upload is not None and hello.upload.level == "word"
    assert (hello.config.seq_len, hello.config.embedding_size) == (10, 16)
    assert hello.vocab == list(session.run.task.output_vocab) and "humpty" in hello.vocab
    session.train(2)
    sample = session.sample(p.Sample(type="sample", length=6, prime="Humpty DUMPTY"))
    words = sample.text.split(" ")
    assert len(words) == 6 and set(words) <= set(hello.vocab)
    with pytest.raises(CommandRefused, match=r"not in the vocabulary: \['zebra'\]") as refused:
        session.sample(p.Sample(type="sample", length=3, prime="humpty zebra"))
    assert refused.value.field == "prime"


def test_rare_words_read_as_unk_in_a_prime_too() -> None:
    session = fresh()
    small = replace(UPLOAD_LIMITS, max_vocab=5)
    words = read_upload("text", RHYME.encode(), "rhyme.txt", small, level="word")
    assert isinstance(words, TextFile)
    hello = use(session, words)
    assert hello.vocab == [UNK, ",", "a", "dumpty", "humpty"]
    sample = session.sample(p.Sample(type="sample", length=2, prime="humpty sat"))  # sat: <unk>
    assert sample.prime == "humpty sat" and set(sample.text.split(" ")) <= set(hello.vocab)


@pytest.mark.parametrize(
    ("choice", "field", "message"),
    [
        ({"upload_id": "nope"}, "upload_id", "no upload 'nope' here"),
        ({"target": "wind"}, "target", "'wind' is not a column"),
        ({"target": "rain", "inputs": ["rain", "rain"]}, "inputs[1]", "'rain' is chosen twice"),
    ],
)
def test_a_refused_upload_leaves_the_run_as_it_was(
    choice: dict[str, object], field: str, message: str
) -> None:
    session = fresh()
    session.train(2)
    run = session.run
    upload_id = session.shelf.put(series_upload(), 4)
    command = p.UseUpload.model_validate({"type": "use_upload", "upload_id": upload_id, **choice})
    with pytest.raises(CommandRefused, match=message) as refused:
        session.use_upload(command)
    assert (refused.value.code, refused.value.field) == ("out_of_range", field)
    assert session.run is run and session.iteration.number == 2


def test_configuring_the_uploaded_task_needs_an_upload() -> None:
    session = fresh()
    with pytest.raises(CommandRefused, match="upload a file and use it first") as refused:
        session.configure(p.RunConfig(task="uploaded"))
    assert refused.value.field == "config.task"


def reference_inputs(session: Session, tensors: dict[str, np.ndarray]) -> np.ndarray:
    """x_t as torch reads the session's batch: one-hot rows, embedding rows, or the values."""
    inputs = session.iteration.batch.inputs
    if inputs.ndim == 3:
        return np.asarray(inputs, dtype=np.float64)
    if "embedding.weight" in tensors:
        return tensors["embedding.weight"].astype(np.float64)[inputs]
    return np.eye(len(VOCAB))[inputs]


@pytest.mark.parametrize(
    ("module", "kind", "options"),
    [
        ("nn.RNN", "tokens", {"nonlinearity": "relu"}),
        ("nn.RNN", "features", {}),
        ("nn.LSTM", "tokens", {"embedding": 3}),
        ("nn.LSTM", "features", {"head": False}),
        ("nn.GRU", "tokens", {"head": False}),
        ("nn.GRU", "tokens", {"embedding": 4}),
        ("nn.GRU", "features", {}),
    ],
)
def test_a_loaded_model_steps_and_bptts_as_torch_computes_it(
    module: str, kind: str, options: dict[str, object]
) -> None:
    files = torch_files(module, kind, **options)  # type: ignore[arg-type]
    session = fresh()
    data = text_upload() if kind == "tokens" else series_upload()
    choice = {} if kind == "tokens" else {"target": "temperature", "inputs": COLUMNS}
    hello = use(session, data, read_model(files), **choice)
    spec = session.run.net.single_spec
    assert spec is not None and spec.cell == {"nn.RNN": "rnn", "nn.LSTM": "lstm"}.get(
        module, "gru_torch"
    )
    assert hello.config.cell == {"nn.RNN": "rnn", "nn.LSTM": "lstm"}.get(module, "gru")
    assert hello.config.hidden_size == 5 and hello.config.embedding_size == options.get(
        "embedding", 0
    )
    assert hello.config.activation == options.get("nonlinearity", "tanh")
    assert hello.upload is not None and hello.upload.model == f"{module} from model.safetensors"
    nonlinearity = str(options.get("nonlinearity", "tanh"))
    hs, _ = torch_forward(
        module, files.tensors, reference_inputs(session, files.tensors), nonlinearity=nonlinearity
    )
    forward = [session.step_forward() for _ in range(session.iteration.length)]
    trace = session.iteration.forward.run()  # type: ignore[attr-defined]
    np.testing.assert_allclose(np.asarray(trace.hs), hs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([f.h for f in forward], hs[:, 0], rtol=1e-6, atol=1e-7)
    frames = session.finish_iteration()
    backward = [f for f in frames if isinstance(f, p.BackwardFrame)]
    assert [f.t for f in backward] == list(range(session.config.seq_len - 1, -1, -1))
    update = next(f for f in frames if isinstance(f, p.UpdateFrame))
    assert update.finite and update.iteration == 0
    if not options.get("head", True):  # a fresh head, drawn from the seed as the server draws
        fresh_head = model_upload(module, kind, **options).model.complete_params(  # type: ignore[arg-type]
            generators(session.config.seed)[0], session.config.init_scale
        )
        session.reset()
        np.testing.assert_array_equal(session.run.params["W_hy"], fresh_head["W_hy"])


def test_the_model_stays_while_the_knobs_build_it_and_goes_when_they_do_not() -> None:
    session = fresh()
    model = model_upload("nn.GRU", "features")
    use(session, series_upload(), model, target="temperature", inputs=COLUMNS)
    loaded = {k: v.copy() for k, v in session.run.params.items()}
    session.train(3)
    hello = session.reset()  # back to the file's weights
    assert hello.upload is not None and hello.upload.model is not None
    for name, value in loaded.items():
        np.testing.assert_array_equal(session.run.params[name], value)
    hello = session.configure(
        session.config.model_copy(update={"seq_len": 6, "learning_rate": 0.3})
    )
    assert hello.upload is not None and hello.upload.model is not None
    hello = session.configure(session.config.model_copy(update={"hidden_size": 6}))
    assert hello.upload is not None and hello.upload.model is None  # fresh weights, Cho's GRU
    spec = session.run.net.single_spec
    assert spec is not None and (spec.cell, spec.hidden_size) == ("gru", 6)


@pytest.mark.parametrize(
    ("data", "files", "choice", "message"),
    [
        ("csv", ("nn.GRU", "tokens", {}), {}, "the model reads tokens: use it with a text file"),
        ("text", ("nn.GRU", "features", {}), {}, "reads feature columns: use it with a CSV file"),
        (
            "text",
            ("nn.RNN", "tokens", {"output_vocab": ["neg", "pos"]}),
            {},
            "the model predicts other tokens than it reads",
        ),
        (
            "csv",
            ("nn.LSTM", "features", {"outputs": ["temperature", "rain"]}),
            {},
            "the model forecasts 2 columns; a CSV task forecasts one",
        ),
        (
            "csv",
            ("nn.LSTM", "features", {"inputs": ["rain", "wind"]}),
            {},
            "'wind' is not a column",
        ),
        (
            "csv",
            ("nn.LSTM", "features", {}),
            {"target": "rain"},
            "the model reads rain, temperature and forecasts temperature",
        ),
    ],
)
def test_a_model_that_does_not_fit_its_data_is_refused(
    data: str, files: tuple[str, str, dict[str, object]], choice: dict[str, object], message: str
) -> None:
    session = fresh()
    run = session.run
    module, kind, sidecar = files
    upload = text_upload() if data == "text" else series_upload()
    model = model_upload(module, kind, **sidecar)
    with pytest.raises(CommandRefused, match=message):
        use(session, upload, model, **choice)
    assert session.run is run


def test_a_character_outside_the_models_vocabulary_is_refused_with_its_place() -> None:
    session = fresh()
    text = text_upload(text=RHYME + "Quiet!\n")
    with pytest.raises(
        CommandRefused, match="line 17, column 1: character 'Q' is not in"
    ) as refused:
        use(session, text, model_upload("nn.GRU"))
    assert refused.value.field == "text"


def exported(session: Session) -> p.SessionState:
    return p.SessionState.model_validate(orjson.loads(p.encode(session.export()))["state"])


@pytest.mark.parametrize("kind", ["text-word", "csv-model", "text-model"])
def test_a_saved_run_on_an_upload_opens_again_exactly(kind: str) -> None:
    session = fresh()
    if kind == "text-word":
        use(session, text_upload("word"))
    elif kind == "csv-model":
        use(
            session,
            series_upload(),
            model_upload("nn.LSTM", "features", head=False),
            target="temperature",
            inputs=COLUMNS,
        )
    else:
        use(session, text_upload(), model_upload("nn.GRU", embedding=3))
    loaded = {k: v.copy() for k, v in session.run.params.items()}
    session.train(3)
    session.step_forward()
    state = exported(session)
    assert state.upload is not None and state.drawn_from is not None
    opened = fresh()
    hello = opened.import_state(state)
    assert hello.upload == session.hello().upload
    assert opened.run.net.single_spec == session.run.net.single_spec
    session.train(2)
    opened.train(2)
    assert opened.run.loss_history == session.run.loss_history  # bit for bit
    opened.reset()  # a loaded model's file weights came along
    if "model" in kind:
        for name, value in loaded.items():
            np.testing.assert_array_equal(opened.run.params[name], value)


def test_a_saved_upload_that_does_not_hold_together_is_refused() -> None:
    session = fresh()
    use(
        session,
        series_upload(),
        model_upload("nn.GRU", "features"),
        target="temperature",
        inputs=COLUMNS,
    )
    state = orjson.loads(p.encode(session.export()))["state"]
    broken = {
        "NaN": {
            **state,
            "upload": {
                **state["upload"],
                "columns": {"rain": ["NaN"] * 60, "temperature": [1.0] * 60},
            },
        },
        "cell": {**state, "config": {**state["config"], "cell": "lstm"}},
        "text": {**state, "upload": {**state["upload"], "kind": "text"}},
    }
    messages = {
        "NaN": "a saved series holds NaN or infinity",
        "cell": "the saved nn.GRU runs as cell gru, not lstm",
        "text": "a saved text upload needs its text, level and vocab",
    }
    run = session.run
    for name, saved in broken.items():
        with pytest.raises(CommandRefused, match=f"cannot import: {messages[name]}") as refused:
            session.import_state(p.SessionState.model_validate(saved))
        assert refused.value.field == "state"
        assert session.run is run
