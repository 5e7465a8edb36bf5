"""Presenter and embed modes, hidden areas, reconnecting, saving and opening runs, a long run."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from app.web.server import uvicorn_config
from tests.browser.helpers import (
    clear_recording,
    config,
    frames,
    open_playground,
    shoot,
    wait_frame,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_presenter_mode_at_projector_sizes(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=hello&presenter=1")
    assert page.locator("[data-area=controls]").is_hidden()
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "19px"
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    wait_frame(page, "backward", count=2)
    # Everything that matters is on the first screen: transport, the network, the charts' tops.
    box = page.locator(".network").bounding_box()
    assert box and box["y"] + box["height"] < 720
    shoot(page, "presenter-1280x720")
    page.set_viewport_size({"width": 1920, "height": 1080})
    shoot(page, "presenter-1920x1080")  # once the charts have refit to the new width


def test_playground_at_1920(page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_playground(page, live_server.http, "?preset=hello")
    page.keyboard.press("t")  # train a while, then look at one iteration step by step
    wait_frame(page, "progress", count=3)
    wait_frame(page, "sample")  # a sample now and then while training
    page.keyboard.press("t")
    page.wait_for_function("window.unroll.state.get('job') === null")
    wait_frame(page, "sequence")
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    wait_frame(page, "backward", count=2)
    page.click(".unrolled .step[data-t='1']")
    shoot(page, "playground-1920x1080")


def test_embed_and_hidden_areas(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=hello&embed=1")
    assert page.locator(".topbar").is_hidden()
    assert page.locator("[data-area=controls]").is_hidden()
    assert page.locator("[data-view=transport]").is_visible()
    page.keyboard.press("ArrowRight")
    page.wait_for_selector(".unrolled .step.done[data-t='0']")
    shoot(page, "embed-1280x720")

    open_playground(page, live_server.http, "?preset=hello&hide=controls,training,flow,seed")
    for area in ("controls", "training", "flow"):
        assert page.locator(f"[data-area={area}]").first.is_hidden(), area
    assert page.locator("[data-area=network]").is_visible()


def test_reconnects_after_the_server_restarts(page, app, settings, live_server) -> None:
    open_playground(page, live_server.http, "?preset=hello&hidden_size=5")
    live_server.server.should_exit = True
    page.wait_for_selector(".badge[data-state=closed]")
    banner = page.locator(".connection-banner")
    banner.wait_for(state="visible")
    assert "Reconnecting" in banner.inner_text()
    _wait_port_free(live_server.port)

    config_ = uvicorn_config(app, settings, host="127.0.0.1", port=live_server.port)
    config_.log_level = "warning"
    server = uvicorn.Server(config_)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        page.wait_for_selector(".badge[data-state=open]")
        page.wait_for_selector(".connection-banner[data-kind=back]")
        # The fresh session runs the link's config again.
        page.wait_for_function("window.unroll.state.get('settled') === true")
        assert config(page)["hidden_size"] == 5
        page.keyboard.press("ArrowRight")
        page.wait_for_selector(".unrolled .step.done[data-t='0']")
        page.evaluate("window.unroll.stream.close()")  # no reconnecting once this server stops
        page.wait_for_selector(".badge[data-state=ended]")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    page.console_errors.clear()  # Chromium logs the refused websocket while the server is down


def _wait_port_free(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise AssertionError("the old server did not stop")


def test_save_and_open_a_run(page, live_server: LiveServer, tmp_path: Path) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    page.click("button[data-command=finish_iteration]")
    page.click("button[data-command=finish_iteration]")
    wait_frame(page, "update", count=2)
    with page.expect_download() as download:
        page.click("[data-view=io] button[data-command=export]")
    saved = tmp_path / "run.json"
    download.value.save_as(saved)
    state = json.loads(saved.read_text())
    assert state["format"] == "unroll-session" and state["iteration"] == 2

    with page.expect_download() as picture:
        page.click(".unrolled .corner-button")  # the network as a PNG
    assert picture.value.suggested_filename == "unroll-network.png"
    assert picture.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.keyboard.press("r")  # start over: iteration 0
    wait_frame(page, "hello")
    clear_recording(page)
    page.set_input_files("[data-view=io] input[data-action=import]", str(saved))
    wait_frame(page, "ack", where="f.command === 'import'")
    page.wait_for_selector("[data-view=io] .message:has-text('run opened')")
    page.keyboard.press("Enter")
    assert wait_frame(page, "update")["iteration"] == 2  # it went on from where it was saved


# Steps sent at once: their frames arrive faster than the page can draw them.
BURST = (
    "(n) => Promise.all(Array.from({ length: n }, () => window.unroll.stream.request('advance')))"
)
DRAWN = (
    "([done, back]) => document.querySelectorAll('.unrolled .step.done').length === done"
    " && document.querySelectorAll('.unrolled .step.back').length === back"
)


def test_a_long_run_stays_drawn(page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_playground(page, live_server.http, "?preset=text&seq_len=50&hidden_size=64")
    assert config(page)["seq_len"] == 50
    page.evaluate("window.unroll.frameStats.reset()")
    # The forward pass and ten BPTT steps, six at a time; the page catches up with each burst.
    for burst in range(1, 11):
        page.evaluate(BURST, 6)
        steps = 6 * burst
        page.wait_for_function(DRAWN, arg=[min(steps, 50), max(0, steps - 50)])
    assert [f["t"] for f in frames(page, "forward")] == list(range(50))
    assert [f["t"] for f in frames(page, "backward")] == list(range(49, 39, -1))
    page.wait_for_selector(".unrolled .grad.on", state="attached")
    assert page.evaluate("window.unroll.frameStats.frames") >= 10  # a drawn state per burst
    shoot(page, "long-run-1920x1080")
