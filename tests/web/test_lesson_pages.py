"""The gradient lab, the gallery and the lessons over HTTP; the data alignment and the result the
lessons state, checked on the session itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.protocol import RunConfig, SessionState, encode
from app.session import Session
from app.tasks import PRESETS
from tests.test_session import LIMITS

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
PAGES = {
    "/lab": "js/lab/main.js",
    "/gallery": "js/gallery/main.js",
    "/lessons": "js/lessons/main.js",
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_page_renders_on_the_base_layout_with_local_assets(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    assert 'class="topbar"' in html and 'data-view="status"' in html  # base.html
    assert "css/lessons.css" in html
    assert PAGES[path] in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    for source in sources:
        assert not source.startswith(("http://", "https://", "//")), source  # no CDN
        if source.startswith(("data:", "#", "?")) or source in PAGES or source == "/":
            continue
        assert client.get(source).status_code == 200, source


def _imports(module: Path) -> list[Path]:
    text = module.read_text(encoding="utf-8")
    return [
        (module.parent / spec).resolve()
        for spec in re.findall(
            r'^import .*? from "(\.{1,2}/[^"]+)";', text, re.MULTILINE | re.DOTALL
        )
    ]


def test_every_module_of_the_three_pages_imports_modules_that_exist() -> None:
    seen: set[Path] = set()
    todo = [(STATIC / module).resolve() for module in PAGES.values()]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        assert module.is_file(), module
        todo.extend(_imports(module))
    # The pages reuse the playground's views and socket owner instead of copying them.
    used = {p.relative_to(STATIC).as_posix() for p in seen}
    assert {"js/stream.js", "js/views/status.js", "js/views/unrolled.js"} <= used
    assert {"js/views/transport.js", "js/views/step_loss.js", "js/frame_batcher.js"} <= used


def test_every_lesson_card_has_its_text_an_equation_and_behaviour(client: TestClient) -> None:
    html = client.get("/lessons").text
    cards = re.findall(
        r'name: "([a-z]+)",\n    panes', (STATIC / "js/lessons/cards.js").read_text()
    )
    assert cards[:3] == ["recurrence", "softmax", "bptt"]
    assert {"vanishing", "exploding", "clipping", "lstm"} <= set(cards)
    for name in cards:
        start = html.index(f'data-card="{name}"')
        article = html[start : html.index("</article>", start)]
        assert "<h2>" in article and '<math display="block">' in article, name


def test_lab_plots_use_svg_traces_and_update_in_place() -> None:
    for module in (STATIC / "js/lab").glob("*.js"):
        text = module.read_text()
        assert "scattergl" not in text and "newPlot" not in text, module.name
        if "Plotly" in text:
            assert "Plotly.react" in text and "batched(" in text, module.name


def _export(session: Session) -> dict:
    return json.loads(encode(session.export()))["state"]


def _align(session: Session, reference: Session) -> None:
    """What lab/runs.js alignTo does: export both runs, keep our weights, take their data."""
    theirs, ours = _export(reference), _export(session)
    data = {key: theirs[key] for key in ("batch", "rng", "cursor")}
    session.import_state(SessionState.model_validate({**ours, **data}))


def _data(session: Session) -> tuple[list, list]:
    """The whole batch the session is on (every sequence, inputs and targets), as exported."""
    batch = _export(session)["batch"]
    return batch["inputs"], batch["targets"]


def test_splicing_the_data_state_puts_different_cells_on_the_same_sequences() -> None:
    base = dict(PRESETS["adding-gru-long"].config)
    rnn = Session(RunConfig(**{**base, "cell": "rnn"}), LIMITS)
    lstm = Session(RunConfig(**{**base, "cell": "lstm"}), LIMITS)
    assert _data(rnn) == _data(lstm)  # data has its own generator
    other = Session(RunConfig(**{**base, "cell": "lstm", "seed": base["seed"] + 1}), LIMITS)
    assert _data(other) != _data(rnn)
    _align(other, rnn)  # what alignTo does when the seeds differ
    assert _data(other) == _data(rnn)
    rnn.train(3)
    lstm.train(3)
    other.train(3)
    assert _data(lstm) == _data(rnn) == _data(other)


def _heldout_mse(cell: str, reference: Session | None, iterations: int) -> tuple[float, Session]:
    config = RunConfig(**{**PRESETS["adding-gru-long"].config, "cell": cell})
    session = Session(config, LIMITS)
    if reference is not None:
        _align(session, reference)
    session.train(iterations)
    mse = session.evaluate()["mse"]
    assert isinstance(mse, float)
    return mse, session


@pytest.mark.slow
def test_the_lstm_card_result_holds_the_lstm_learns_the_adding_problem_the_rnn_does_not() -> None:
    """Card 8 and the lab's cells: 2000 iterations at the preset's seed, same sequences."""
    fresh = Session(RunConfig(**{**PRESETS["adding-gru-long"].config, "cell": "rnn"}), LIMITS)
    rnn_mse, rnn = _heldout_mse("rnn", None, 2000)
    lstm_mse, lstm = _heldout_mse("lstm", fresh, 2000)
    assert rnn_mse > 0.12  # near the constant answer's 1/6
    assert lstm_mse < 0.05
    flows = []
    for session in (rnn, lstm):
        row = np.array(session.diagnose().flow, dtype=float)[-1]
        flows.append(row[0] / row[-1])
    assert flows[0] < 1e-8 < 1e-2 < flows[1]  # the gradient reaches step 0 only through the LSTM
