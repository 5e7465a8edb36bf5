"""The guided lessons in real headless Chromium against a real server: each card sets up its run,
points at its view, and notices from the frames that the student did what it asked."""

from __future__ import annotations

import math

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

CARD = ".lesson-card"


def open_card(page, live_server: LiveServer, number: int) -> None:
    page.goto(f"{live_server.http}/lessons?card={number}")
    wait_ready(page)


def wait_ready(page) -> None:
    page.wait_for_function(f"document.querySelector('{CARD}').dataset.ready === 'true'")


def wait_done(page) -> None:
    page.wait_for_function(f"document.querySelector('{CARD}').dataset.done === 'true'")


def card_name(page) -> str:
    return page.get_attribute(CARD, "data-card")


def slide(page, rho: float) -> None:
    position = round(1000 * math.log(rho / 0.1) / math.log(50))
    page.eval_on_selector(
        "[data-pane=lab] [name=rho]",
        "(s, v) => { s.value = v; s.dispatchEvent(new Event('input', { bubbles: true })); }",
        position,
    )


def wait_steps_done(page, count: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('.unrolled .step.done').length === {count}")


def test_the_first_cards_step_forward_score_the_loss_and_walk_back(
    page, live_server: LiveServer
) -> None:
    page.goto(f"{live_server.http}/lessons")
    wait_ready(page)
    assert card_name(page) == "recurrence"
    assert page.locator("[data-pane=unrolled]").is_visible()
    assert "pointed" in page.get_attribute("[data-pane=unrolled]", "class")
    assert page.locator("[data-pane=lab]").is_hidden()
    assert page.locator("article[data-card=recurrence] math").count() >= 1
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # the playground's own transport view sends them
    wait_done(page)
    wait_steps_done(page, 3)  # views draw on animation frames: wait, don't race
    assert "h" in page.locator("[data-role=live]").inner_text()
    screenshot(page, "lessons-1-recurrence")

    page.click("[data-action=next]")
    wait_ready(page)
    assert card_name(page) == "softmax" and page.url.endswith("?card=2")
    wait_steps_done(page, 0)  # the card set up a fresh run
    for _ in range(4):
        page.click("[data-view=transport] button[data-command=step_forward]")
    wait_done(page)
    assert "L so far" in page.locator("[data-role=live]").inner_text()
    screenshot(page, "lessons-2-softmax")

    page.click("[data-action=next]")
    wait_ready(page)
    assert card_name(page) == "bptt"
    wait_steps_done(page, 4)  # the card ran the forward pass
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    wait_done(page)
    assert page.locator("[data-role=live]").inner_text().count("‖δ") == 4
    screenshot(page, "lessons-3-bptt")

    page.go_back()  # progress lives in the URL: back is the previous card
    wait_ready(page)
    assert card_name(page) == "softmax"
    assert page.locator(".dots a.done").count() == 3


def test_the_update_card_counts_three_updates(page, live_server: LiveServer) -> None:
    open_card(page, live_server, 4)
    assert card_name(page) == "update"
    for _ in range(3):
        page.keyboard.press("Enter")
    wait_done(page)
    assert page.locator("[data-role=live]").inner_text().count("→") == 2
    screenshot(page, "lessons-4-update")


def test_a_teacher_links_to_card_5_and_the_student_drags_rho_down(
    page, live_server: LiveServer
) -> None:
    open_card(page, live_server, 5)
    assert card_name(page) == "vanishing"
    assert page.locator("[data-pane=lab]").is_visible()
    assert page.locator("[data-pane=unrolled]").is_hidden()
    page.wait_for_function("document.querySelector('[data-role=live]').textContent.includes('ρ')")
    assert page.get_attribute(CARD, "data-done") == "false"
    slide(page, 0.4)
    wait_done(page)
    assert "0.40" in page.locator("[data-role=live]").inner_text()
    screenshot(page, "lessons-5-vanishing")


def test_exploding_card_detects_rho_past_one(page, live_server: LiveServer) -> None:
    open_card(page, live_server, 6)
    assert card_name(page) == "exploding"
    slide(page, 1.5)
    wait_done(page)
    page.click("[data-extra='f = tanh']")
    page.wait_for_function("window.unroll.lab.hello.config.activation === 'tanh'")
    assert page.locator("[data-pane=lab] [data-role=rho]").inner_text() == "1.50"  # ρ kept
    screenshot(page, "lessons-6-exploding")


def test_clipping_card_needs_a_clipped_update(page, live_server: LiveServer) -> None:
    open_card(page, live_server, 7)
    assert card_name(page) == "clipping"
    page.click("[data-extra='train 20 updates']")
    page.wait_for_function(
        "document.querySelector('[data-role=live]').textContent.includes('update 20')"
    )
    assert page.get_attribute(CARD, "data-done") == "false"  # unclipped updates do not count
    page.click("[data-extra='clip by norm']")
    page.click("[data-extra='start over']")
    page.wait_for_function("!document.querySelector(\"[data-extra='start over']\").disabled")
    page.click("[data-extra='train 20 updates']")
    wait_done(page)
    assert "rescaled to 1.000" in page.locator("[data-role=live]").inner_text()
    screenshot(page, "lessons-7-clipping")


def test_lstm_card_compares_the_cells_on_the_same_sequences(page, live_server: LiveServer) -> None:
    open_card(page, live_server, 8)
    assert card_name(page) == "lstm"
    tokens = page.evaluate("window.unroll.cells.runs.map((run) => run.hello.tokens)")
    assert tokens[0] == tokens[1]
    page.click("[data-pane=cells] [data-action=train-cells]")
    page.wait_for_function(
        "[...document.querySelectorAll('[data-pane=cells] [data-role=cell-note]')]"
        ".every((n) => n.textContent.includes('held-out MSE'))"
    )
    page.click("[data-pane=cells] [data-action=pause-cells]")
    wait_done(page)
    assert "LSTM" in page.locator("[data-role=live]").inner_text()
    screenshot(page, "lessons-8-lstm")
