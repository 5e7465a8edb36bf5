"""Your data, your model, your code, in real Chromium: upload a CSV and watch it train, upload a
torch model and step it, download the run as a NumPy script; by keyboard, and at 390 px wide."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from app import protocol as p
from app.session import Session
from app.web.sessions import limits_from
from app.web.settings import Settings
from tests.browser.helpers import config, open_playground, shoot, wait_frame
from tests.conftest import LiveServer
from tests.export.test_numpy_script import run_script
from tests.models.torch_reference import torch_forward
from tests.run.uploadutil import RHYME, VOCAB, torch_files, weather_csv

PANEL = "[data-view=your-data]"


def file(name: str, data: bytes, mime: str = "application/octet-stream") -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": data}


def open_panel(page: Any) -> None:
    page.click(f"{PANEL} summary")
    page.wait_for_selector(f"{PANEL}[open] input[name=data]")


def test_upload_a_csv_and_watch_it_train(page: Any, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    open_panel(page)
    page.set_input_files(
        f"{PANEL} input[name=data]", files=[file("weather.csv", weather_csv(), "text/csv")]
    )
    summary = page.wait_for_selector(f"{PANEL} [data-role=data-summary]:has-text('60 rows')")
    assert summary.text_content() == (
        "weather.csv: 60 rows of 3 columns (named in its header); the last 12 rows held out; "
        "windows of up to 11 steps."
    )
    page.select_option(f"{PANEL} select[name=target]", "temperature")
    page.check(f"{PANEL} [data-role=inputs] input[value=rain]")
    page.check(f"{PANEL} [data-role=inputs] input[value=temperature]")
    shown = page.eval_on_selector_all(
        f"{PANEL} [data-role=scaling] tbody tr", "(rows) => rows.map((r) => r.cells[0].textContent)"
    )
    assert shown == ["temperature", "rain"]  # the normalisation, before anything runs
    page.click(f"{PANEL} [data-action=use-data]")
    hello = wait_frame(page, "hello", where="f.config.task === 'uploaded'")
    upload = hello["upload"]
    assert (upload["target"], upload["inputs"]) == ("temperature", ["temperature", "rain"])
    in_use = page.text_content(f"{PANEL} [data-role=in-use]")
    assert in_use == "weather.csv: forecast temperature from temperature, rain"
    means = page.eval_on_selector_all(
        f"{PANEL} [data-role=scaling] tbody tr", "(rows) => rows.map((r) => r.cells[1].textContent)"
    )
    assert means == [
        f"{hello['upload']['scaling'][c]['mean']:.3f}" for c in ("temperature", "rain")
    ]
    page.wait_for_function("window.unroll.state.get('settled') === true")
    assert "task=" not in page.url  # a link cannot carry the upload
    page.click("button[data-command=train]")
    wait_frame(page, "progress", where="f.iteration >= 30 && f.heldout !== null")
    page.click("button[data-command=train]")  # stop
    shoot(page, "your-data-csv")


def test_upload_a_weights_file_and_step_it(page: Any, live_server: LiveServer) -> None:
    files = torch_files("nn.GRU", "tokens", head=False)
    open_playground(page, live_server.http, "?preset=hello")
    open_panel(page)
    page.set_input_files(
        f"{PANEL} input[name=data]", files=[file("rhyme.txt", RHYME.encode(), "text/plain")]
    )
    page.wait_for_selector(f"{PANEL} [data-role=data-summary]:has-text('distinct')")
    page.set_input_files(f"{PANEL} input[name=sidecar]", files=[file("model.json", files.sidecar)])
    page.set_input_files(
        f"{PANEL} input[name=weights]", files=[file("model.safetensors", files.weights)]
    )
    model = page.wait_for_selector(f"{PANEL} [data-role=model-summary]:has-text('nn.GRU')")
    assert model.text_content() == (
        f"model.safetensors: nn.GRU, hidden size 5; reads {len(VOCAB)} tokens, predicts "
        f"{len(VOCAB)} tokens; no head: a fresh one is drawn."
    )
    page.click(f"{PANEL} [data-action=use-model]")
    hello = wait_frame(page, "hello", where="f.upload && f.upload.model !== null")
    assert hello["upload"]["model"] == "nn.GRU from model.safetensors"
    in_use = page.text_content(f"{PANEL} [data-role=in-use]")
    assert in_use == (
        "rhyme.txt, read as characters; model: nn.GRU from model.safetensors "
        "(torch's GRU: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)))"
    )
    assert (config(page)["cell"], config(page)["hidden_size"]) == ("gru", 5)
    steps = len(hello["tokens"])  # the focus stays on the button; → still steps the run
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
    forward = [wait_frame(page, "forward", count=t + 1) for t in range(steps)]
    ids = [VOCAB.index(token) for token in hello["tokens"]]
    hs, _ = torch_forward("nn.GRU", files.tensors, np.eye(len(VOCAB))[ids][:, None, :])
    np.testing.assert_allclose([f["h"] for f in forward], hs[:, 0], rtol=1e-5, atol=1e-6)
    page.keyboard.press("ArrowRight")  # the first BPTT step, back through torch's GRU
    backward = wait_frame(page, "backward")
    assert backward["t"] == steps - 1 and np.isfinite(backward["dh_norm"])
    shoot(page, "your-data-model")


def test_download_the_numpy_script(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    open_panel(page)
    page.fill(f"{PANEL} input[name=iterations]", "4")
    with page.expect_download() as download:
        page.click(f"{PANEL} [data-action=script]")
    assert download.value.suggested_filename == "unroll-hello-seed0-iterations-1-4.py"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    source = saved.read_text(encoding="utf-8")
    assert source.startswith('"""An Unroll run as one standalone NumPy script: ')
    printed = run_script(source, saved)
    session = Session(p.RunConfig.model_validate(config(page)), limits_from(Settings()))
    session.train(4)
    assert [n for n, _ in printed] == [1, 2, 3, 4]
    np.testing.assert_allclose([loss for _, loss in printed], session.run.loss_history, rtol=1e-12)
    message = page.wait_for_selector(f"{PANEL} [data-role=message]:has-text('iterations 1 to')")
    assert message.text_content() == "unroll-hello-seed0-iterations-1-4.py: iterations 1 to 4"
    assert "Encoder–decoder runs" in page.text_content(PANEL)


def test_the_panel_works_by_keyboard_at_390_px(page: Any, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_playground(page, live_server.http, "?preset=hello")
    page.focus(f"{PANEL} summary")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{PANEL}[open]")
    page.set_input_files(
        f"{PANEL} input[name=data]", files=[file("weather.csv", weather_csv(), "text/csv")]
    )
    page.wait_for_selector(f"{PANEL} [data-action=use-data]:not([disabled])")
    page.focus(f"{PANEL} [data-action=use-data]")
    page.keyboard.press("Enter")  # a button's own key: not the transport's "finish the iteration"
    wait_frame(page, "hello", where="f.config.task === 'uploaded'")
    for selector in (
        "summary",
        "input[name=data]",
        "select[name=target]",
        "[data-action=use-data]",
        "input[name=weights]",
        "[data-action=script]",
        "[data-role=scaling]",
    ):
        box = page.locator(f"{PANEL} {selector}").first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    shoot(page, "your-data-390px")


def test_a_bad_file_is_refused_on_the_page_with_its_line_and_column(
    page: Any, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    open_panel(page)
    bad = b"day,temperature\n1,12.5\n2,\n"
    page.set_input_files(f"{PANEL} input[name=data]", files=[file("gaps.csv", bad, "text/csv")])
    message = page.wait_for_selector(f"{PANEL} [data-role=message]:has-text('line 3')")
    assert message.text_content() == (
        "gaps.csv: line 3, column 2: the 'temperature' cell is empty: "
        "missing values are not filled in"
    )
    assert page.is_disabled(f"{PANEL} [data-action=use-data]")
    assert config(page)["task"] == "hello"  # the run goes on as it was
    # Chromium logs every refused request; this one was refused on purpose.
    page.console_errors[:] = [e for e in page.console_errors if "status of 422" not in e]
