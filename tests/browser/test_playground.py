"""The playground in real headless Chromium against a real server."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_steps_appear_as_the_network_unrolls(page, live_server: LiveServer) -> None:
    page.goto(live_server.http + "/")
    page.wait_for_selector(".badge[data-state=open]")
    page.wait_for_selector(".unrolled .step[data-t='3']")
    assert page.locator(".unrolled .step.done").count() == 0

    for t in range(4):
        page.click("button[data-command=step_forward]")
        page.wait_for_selector(f".unrolled .step.done[data-t='{t}']")
    assert page.locator(".unrolled .step.done").count() == 4
    assert page.locator(".unrolled .step[data-t='0'] .unit").count() == 3  # h_t heat strip
    loss_text = page.locator("[data-view=step-loss] .equation").inner_text()
    assert loss_text.startswith("L = Σ L_t =") and loss_text.count("+") == 3
    page.wait_for_selector("[data-view=step-loss] .plot .bars path")
    screenshot(page, "playground-forward")


def test_keyboard_steps_and_backward_pass(page, live_server: LiveServer) -> None:
    page.goto(live_server.http + "/")
    page.wait_for_selector(".badge[data-state=open]")
    page.wait_for_selector(".unrolled .step[data-t='3']")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_selector(".unrolled .step.done[data-t='3']")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "document.querySelector(\".unrolled .step[data-t='3'] .grad-label\").textContent !== ''"
    )
    screenshot(page, "playground-backward")


def test_server_errors_are_shown_next_to_the_controls(page, live_server: LiveServer) -> None:
    page.goto(live_server.http + "/")
    page.wait_for_selector(".badge[data-state=open]")
    page.click("button[data-command=step_backward]")  # backward before forward: refused
    message = page.locator("[data-view=transport] [data-role=message]")
    message.wait_for(state="visible")
    assert "forward pass" in message.inner_text()
    page.console_errors.clear()
