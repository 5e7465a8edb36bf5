"""Accessible by design: axe-core on every page and main state, the keyboard, a live summary."""

from __future__ import annotations

import math
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import frames, open_playground, wait_frame
from tests.browser.pages import open_page, settle_charts
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

AXE = Axe()  # axe-core bundled in the package: no network needed


def violations(page: Any) -> list[str]:
    """Every axe-core violation on the page as it is now, whatever its impact."""
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
    ]


@pytest.mark.parametrize(
    "path",
    ["/", "/?presenter=1", "/?embed=1", "/lessons", "/lessons?card=5", "/gallery", "/lab?ab=1"],
)
def test_axe_finds_nothing_on_each_page(page: Any, live_server: LiveServer, path: str) -> None:
    open_page(page, live_server.http, path)
    settle_charts(page)
    assert violations(page) == []


def test_axe_finds_nothing_in_the_playground_s_states(page: Any, live_server: LiveServer) -> None:
    open_playground(page, live_server.http)
    page.click("button[data-command=finish_iteration]")
    wait_frame(page, "update")
    page.click("button[data-command=advance]")
    wait_frame(page, "forward", where="f.iteration === 1")
    page.focus(".unrolled .step[tabindex='0']")
    page.keyboard.press("Enter")  # a step's numbers, open
    page.wait_for_selector(".cell-detail:not([hidden])")
    settle_charts(page)
    assert violations(page) == []
    page.click("[data-action=presenter]")
    page.wait_for_function("document.body.classList.contains('presenter')")
    settle_charts(page)
    assert violations(page) == []
    page.keyboard.press("Escape")
    page.click("[data-action=help]")
    page.wait_for_selector("dialog.help[open]")
    assert violations(page) == []


def test_axe_finds_nothing_in_a_classroom(browser: Any, live_server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        teacher = context.new_page()
        teacher.goto(live_server.http + "/room")
        assert violations(teacher) == []
        teacher.click("[data-role=create]")
        teacher.wait_for_selector("[data-room=teacher][data-role=teacher]")
        teacher.wait_for_selector(".unrolled .step[data-t='0']")
        assert violations(teacher) == []
        student = context.new_page()
        student.goto(teacher.locator("[data-role=link]").get_attribute("href"))
        student.wait_for_selector("[data-room=student][data-mode=following]")
        student.wait_for_selector(".unrolled .step[data-t='0']")
        assert violations(student) == []
    finally:
        context.close()


def test_the_skip_link_comes_first_and_play_soon_after(page: Any, live_server: LiveServer) -> None:
    open_playground(page, live_server.http)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    stops = []
    for _ in range(12):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.textContent.trim()"))
        if page.evaluate("document.activeElement.dataset.command === 'play'"):
            break
    assert stops[-1] == "▶ play" and len(stops) <= 9  # brand, five pages, presenter, ?, play
    page.goto(live_server.http + "/")  # the skip link lands on the run's controls
    page.wait_for_function("window.unroll && window.unroll.state.get('settled') === true")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "run"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.command") == "play"


def test_every_network_step_opens_its_numbers_from_the_keyboard(
    page: Any, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http)
    T = page.evaluate("window.unroll.state.get('config').seq_len")
    assert page.locator(".unrolled .step[tabindex='0']").count() == 1  # one tab stop
    page.focus(".unrolled .step[tabindex='0']")
    focused = "Number(document.activeElement.dataset.t)"
    page.keyboard.press("End")
    assert page.evaluate(focused) == T - 1
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(focused) == T - 2
    assert frames(page, "forward") == []  # the arrows moved the focus, not the run
    page.keyboard.press("Enter")
    page.wait_for_selector(".cell-detail:not([hidden])")
    assert page.evaluate("window.unroll.state.get('selected')") == T - 2
    assert f"Step t = {T - 2}" in page.locator(".cell-detail h3").inner_text()
    assert page.get_attribute(f".unrolled .step[data-t='{T - 2}']", "aria-expanded") == "true"
    assert frames(page, "update") == []  # Enter opened the step, it did not finish the iteration
    page.keyboard.press("Home")
    page.keyboard.press(" ")
    page.wait_for_function("window.unroll.state.get('selected') === 0")
    page.keyboard.press("Escape")
    page.wait_for_selector(".cell-detail", state="hidden")


def test_buttons_keep_their_keys_and_shortcuts_work_elsewhere(
    page: Any, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http)
    page.focus("button[data-command=advance]")
    page.keyboard.press(" ")  # Space on a focused "step ▶" steps, it does not play
    wait_frame(page, "forward", where="f.t === 0")
    page.keyboard.press("Enter")
    wait_frame(page, "forward", where="f.t === 1")
    assert [c["type"] for c in page.evaluate("window.__sent")] == ["advance", "advance"]
    assert page.evaluate("window.unroll.state.get('job')") is None
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("ArrowRight")  # with nothing focused, the page's shortcuts apply
    wait_frame(page, "forward", where="f.t === 2")
    page.focus("input[name=speed]")
    page.keyboard.press("ArrowRight")  # a focused slider keeps its arrows
    assert [c["type"] for c in page.evaluate("window.__sent")] == ["advance"] * 3


def _band(norm: float) -> str:
    if not math.isfinite(norm):
        return "not finite (inf or NaN)"
    level = math.log10(max(norm, 1e-30))
    return "vanishing" if level < -3 else "exploding" if level > 1 else "healthy"


def test_a_polite_summary_says_the_step_the_loss_and_the_gradient(
    page: Any, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http)
    summary = page.locator("[data-view=summary]")
    assert summary.get_attribute("aria-live") == "polite"
    T = page.evaluate("window.unroll.state.get('config').seq_len")
    page.keyboard.press("ArrowRight")
    forward = wait_frame(page, "forward", where="f.t === 0")
    number = "(x, d) => import(document.querySelector('script[type=module]').src"
    number += ".replace('main.js', 'format.js')).then((m) => m.formatNumber(x, d))"
    loss = page.evaluate(f"([x, d]) => ({number})(x, d)", [forward["loss"], 3])
    page.wait_for_function(
        f"document.querySelector('[data-view=summary]').textContent.startsWith("
        f"'Forward step t = 0 of {T}: loss L_0 = {loss},')"
    )
    for t in range(1, T):
        page.keyboard.press("ArrowRight")
        wait_frame(page, "forward", where=f"f.t === {t}")
    for t in reversed(range(T)):
        page.keyboard.press("ArrowRight")
        wait_frame(page, "backward", where=f"f.t === {t}")
    last = wait_frame(page, "backward", where="f.t === 0")
    norm = page.evaluate(f"([x, d]) => ({number})(x, d)", [last["dh_norm"], 3])
    page.wait_for_function(
        "document.querySelector('[data-view=summary]').textContent.startsWith('BPTT step t = 0')"
    )
    text = summary.inner_text() or summary.text_content()
    assert text.startswith(f"BPTT step t = 0: gradient norm {norm}, {_band(last['dh_norm'])}.")
    assert f"From t = {T - 1} back to t = 0 it changed ×" in text
