"""The script a session exports (export_script) prints the losses the session's own training
reports (Session.train), to 1e-12 relative: from the run's start, and from where it stands now,
for lesson tasks, uploaded files and loaded torch models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import pytest

from app import protocol as p
from app.run.refusal import CommandRefused
from app.session import Session
from app.web.sessions import limits_from
from app.web.settings import Settings
from tests.export.test_numpy_script import run_script
from tests.run.uploadutil import (
    COLUMNS,
    model_upload,
    series_upload,
    text_upload,
    use,
)

ITERATIONS = 3
SERVER = limits_from(Settings())


def lesson(preset: str, **changes: object) -> Callable[[], Session]:
    def make() -> Session:
        session = Session(p.RunConfig(), SERVER)
        wanted = p.RunConfig.model_validate({"task": preset, "hidden_size": 6, **changes})
        session.configure(wanted)
        return session

    return make


def uploaded(
    data: str, model: tuple[str, str, dict[str, object]] | None = None, **knobs: object
) -> Callable[[], Session]:
    def make() -> Session:
        session = Session(p.RunConfig(), SERVER)
        loaded = None if model is None else model_upload(model[0], model[1], **model[2])
        if data == "csv":
            use(session, series_upload(), loaded, target="temperature", inputs=COLUMNS)
        else:
            use(session, text_upload(data), loaded)
        if knobs:
            session.configure(session.config.model_copy(update=knobs))
        return session

    return make


CASES = {
    "hello-rnn": lesson("hello"),
    "sine-gru-momentum": lesson("sine", cell="gru", optimizer="momentum", seq_len=8),
    "sentiment-lstm-recorded": lesson("sentiment", cell="lstm"),
    "text-words-lstm-truncated": uploaded("word", cell="lstm", truncation=3, hidden_size=8),
    "text-chars-batch": uploaded("char", batch_size=3, seq_len=7, hidden_size=8),
    "csv-rnn-adam": uploaded("csv", optimizer="adam", batch_size=2, seq_len=6),
    "torch-gru-features": uploaded("csv", ("nn.GRU", "features", {}), seq_len=6),
    "torch-lstm-tokens-embedded-headless": uploaded(
        "char", ("nn.LSTM", "tokens", {"embedding": 3, "head": False})
    ),
    "torch-rnn-relu-tokens": uploaded(
        "char", ("nn.RNN", "tokens", {"nonlinearity": "relu"}), optimizer="rmsprop"
    ),
}


def script(
    session: Session, start: str, tmp_path: Path
) -> tuple[p.ScriptFrame, list[tuple[int, float]]]:
    command = p.ExportScript(type="export_script", iterations=ITERATIONS, start=start)  # type: ignore[arg-type]
    frame = session.export_script(command)
    return frame, run_script(frame.source, tmp_path / frame.filename)


@pytest.mark.parametrize("case", list(CASES))
def test_a_script_from_the_start_prints_what_the_session_trains(case: str, tmp_path: Path) -> None:
    session = CASES[case]()
    session.train(2)  # "from the start" does not depend on where the run is now
    frame, printed = script(session, "seed", tmp_path)
    assert (frame.first_iteration, frame.last_iteration) == (1, ITERATIONS)
    assert frame.filename == f"unroll-{session.config.task}-seed0-iterations-1-{ITERATIONS}.py"
    assert [n for n, _ in printed] == list(range(1, ITERATIONS + 1))
    session.reset()
    session.train(ITERATIONS)
    expected = session.run.loss_history
    np.testing.assert_allclose([loss for _, loss in printed], expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", list(CASES))
def test_a_script_from_now_goes_on_as_the_session_does(case: str, tmp_path: Path) -> None:
    session = CASES[case]()
    session.train(2)
    session.step_forward()  # in the middle of iteration 3: the script starts it over, as train does
    session.step_forward()
    frame, printed = script(session, "now", tmp_path)
    assert (frame.first_iteration, frame.last_iteration) == (3, 2 + ITERATIONS)
    assert [n for n, _ in printed] == list(range(3, 3 + ITERATIONS))
    session.train(ITERATIONS)
    expected = session.run.loss_history[2:]
    np.testing.assert_allclose([loss for _, loss in printed], expected, rtol=1e-12, atol=0)


def test_a_run_opened_from_an_old_file_exports_from_now_after_its_iteration(tmp_path: Path) -> None:
    session = CASES["csv-rnn-adam"]()
    session.train(2)
    state = orjson.loads(p.encode(session.export()))["state"]
    del state["drawn_from"]  # saved before runs kept where their batch was drawn from
    opened = Session(p.RunConfig(), SERVER)
    opened.import_state(p.SessionState.model_validate(state))
    with pytest.raises(CommandRefused, match="finish this iteration, then export") as refused:
        opened.export_script(p.ExportScript(type="export_script", start="now"))
    assert refused.value.field == "start"
    opened.finish_iteration()
    _, printed = script(opened, "now", tmp_path)
    opened.train(ITERATIONS)
    np.testing.assert_allclose(
        [loss for _, loss in printed], opened.run.loss_history[3:], rtol=1e-12, atol=0
    )


def test_an_encoder_decoder_run_is_refused_naming_the_task() -> None:
    session = lesson("numbers")()
    with pytest.raises(
        CommandRefused, match="encoder-decoder run as a script is not supported"
    ) as refused:
        session.export_script(p.ExportScript(type="export_script"))
    assert (refused.value.code, refused.value.field) == ("out_of_range", "task")
