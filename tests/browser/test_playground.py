"""The playground's views, fed live by a real server, in headless Chromium."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import frames, open_playground, shoot, wait_frame
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_whole_iteration_lights_up_every_view(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http)
    T = page.evaluate("window.unroll.state.get('config').seq_len")
    assert page.locator(".unrolled .step.done").count() == 0
    labels = page.eval_on_selector_all(".unrolled .w-label", "els => els.map(e => e.textContent)")
    assert labels == ["W_xh", "W_hy", "W_hh"]  # the shared weights, labelled once

    for t in range(T):  # the forward pass, left to right
        page.click("button[data-command=advance]")
        page.wait_for_selector(f".unrolled .step.done[data-t='{t}']")
    assert page.locator(".unrolled .step[data-t='0'] .unit").count() == 3  # h_t heat strip
    page.wait_for_function(
        "document.querySelector('[data-view=step-loss] .equation').textContent.split('+').length"
        f" === {T}"
    )
    assert page.locator("[data-view=step-loss] .equation").inner_text().startswith("L = Σ L_t =")
    assert page.locator(".prob-bars li.target").count() == 1  # the target, marked
    page.wait_for_selector("[data-view=hidden-heatmap] .heatmaplayer .hm")
    assert "next: BPTT step" in page.locator("[data-role=phase]").inner_text()

    for t in reversed(range(T)):  # BPTT, right to left, along the same arrows
        page.keyboard.press("ArrowLeft")
        wait_frame(page, "backward", where=f"f.t === {t}")
    page.wait_for_function("document.querySelectorAll('.unrolled .grad.on').length >= 4")
    band = page.locator(".unrolled .step[data-t='0'] .grad.on").first.get_attribute("data-band")
    assert band in {"vanishing", "neutral", "exploding"}
    page.locator("[data-view=flow]").scroll_into_view_if_needed()  # charts out of view wait
    page.wait_for_function(
        "document.querySelector('[data-view=gradients] .caption').textContent.includes('From t =')"
    )
    page.wait_for_selector("[data-view=flow] .heatmaplayer .hm")
    assert "next: the update" in page.locator("[data-role=phase]").inner_text()

    page.keyboard.press("ArrowRight")  # the update
    update = wait_frame(page, "update")
    page.wait_for_selector(".unrolled-note:has-text('weights updated')")
    # The finished iteration stays on show until the next one starts.
    assert page.locator(".unrolled .step.done").count() == T
    page.locator("[data-view=training]").scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelector('[data-view=training] .stats').textContent.includes('iteration1')"
    )
    assert update["iteration"] == 0
    shoot(page, "playground-iteration-1280", full_page=True)

    page.keyboard.press("ArrowRight")  # the next iteration begins
    wait_frame(page, "forward", count=T + 1)
    page.wait_for_function("document.querySelectorAll('.unrolled .step.done').length === 1")


def test_clicking_a_cell_shows_its_equations_with_values(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http)
    page.click("button[data-command=finish_iteration]")
    wait_frame(page, "update")
    forward = frames(page, "forward")[2]
    backward = next(f for f in frames(page, "backward") if f["t"] == 2)
    page.click("button[data-command=step_backward]")  # refused: a new iteration has not begun
    page.wait_for_selector("[data-view=transport] .message:has-text('forward pass')")
    page.click(".unrolled .step[data-t='2']")
    detail = page.locator("[data-view=cell-detail]")
    detail.wait_for(state="visible")
    text = detail.inner_text()
    assert "a₂ = Wxh x₂ + Whh h₁ + bh" in text.replace("\n", " ")
    assert f"{forward['a'][0]:.2f}" in text and f"{forward['h'][1]:.2f}" in text
    assert f"−log {forward['target_prob']:.3f}" in text
    assert f"{backward['dh_norm']:.3f}" in text
    shoot(page, "playground-cell-detail-1280x720")
    page.keyboard.press("Escape")
    detail.wait_for(state="hidden")


def test_non_finite_numbers_are_shown_not_crashed_on(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http)
    page.click("button[data-command=advance]")
    wait_frame(page, "forward")
    # An exploding run, as the server encodes it: markers where JSON has no numbers.
    forward = (
        '{"type":"forward","iteration":0,"t":1,"seq_len":4,"input_token":"e","target_token":"l",'
        '"counted":true,"h":["NaN",0.5,"-Infinity"],"a":["Infinity",0.1,0.2],'
        '"y":[0.25,0.25,0.25,0.25],"top":[{"token":"l","p":"NaN"}],"target_prob":"NaN",'
        '"target_value":null,"loss":"Infinity","total_loss":"Infinity"}'
    )
    backward = (
        '{"type":"backward","iteration":0,"t":1,"dh":["Infinity",1,2],"dh_norm":"Infinity",'
        '"jacobian_norm":"NaN","flow_row":["Infinity","Infinity"]}'
    )
    page.evaluate("(text) => window.unroll.stream.receive(text)", forward)
    page.evaluate("(text) => window.unroll.stream.receive(text)", backward)
    page.wait_for_selector(
        ".unrolled .step[data-t='1'] .grad.on[data-band=nonfinite]", state="attached"
    )
    assert "+∞" in page.locator(".unrolled .step[data-t='1'] .loss-label").text_content()
    page.wait_for_function(
        "document.querySelector('[data-view=step-loss] .equation').textContent.includes('∞')"
    )
    page.click(".unrolled .step[data-t='1']")
    page.wait_for_selector("[data-view=cell-detail] .nonfinite")
    fill = page.locator(".unrolled .step[data-t='1'] .unit").first.get_attribute("fill")
    assert fill == "#000000"  # NaN in h_t is black, never mistaken for 0


def test_every_lesson_text_renders(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=gradients-tanh-1.5")
    rendered = page.evaluate(
        """async () => {
          const { renderMarkdown } = await import("/static/js/markdown.js");
          return window.unroll.state.get("presets").map((p) => [p.name, renderMarkdown(p.lesson)]);
        }"""
    )
    assert len(rendered) >= 10
    for name, html in rendered:
        assert "<p>" in html and "<script" not in html, name
    page.click(".lesson-strip button.link")
    page.wait_for_selector("dialog.lesson-text[open] table td")  # the lesson's table, as a table
    page.keyboard.press("Escape")


SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _near(text: str, value: float, digits: int) -> bool:
    """Whether `text` is `value` written with exactly `digits` decimals."""
    return (
        bool(re.fullmatch(rf"-?\d+\.\d{{{digits}}}", text))
        and abs(float(text) - value) <= 0.5 * 10**-digits + 1e-6
    )


def test_real_valued_inputs_and_targets_are_drawn_from_their_vectors(
    page, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http, "?preset=sine")
    opening = page.evaluate("window.unroll.timeline.opening")
    inputs, targets = opening["input_values"], opening["target_values"]
    T = len(inputs)
    assert opening["tokens"] == [""] * T and opening["targets"] == [""] * T  # no numbers as text
    assert len(inputs[0]) == 1 and len(targets[-1]) == 1
    digits = 2 if page.get_attribute(".unrolled svg", "data-mode") == "full" else 1
    for t in (0, T - 1):  # x_t under each cell, formatted by the page
        label = page.locator(f".unrolled .step[data-t='{t}'] .in-token")
        shown = label.evaluate("(text) => text.firstChild.textContent")
        assert _near(shown, inputs[t][0], digits), (shown, inputs[t])
        title = label.locator("title").text_content()
        name, value = title.split(" = ")
        assert name == "x" + str(t).translate(SUBSCRIPTS) and _near(value, inputs[t][0], 2)

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    forward = wait_frame(page, "forward", count=2)
    assert forward["input_token"] == "" and forward["target_token"] == ""
    assert forward["x"] == pytest.approx(inputs[1], abs=1e-6)
    page.click(".unrolled .step[data-t='1']")
    detail = page.locator("[data-view=cell-detail]")
    detail.wait_for(state="visible")
    x_text = re.search(r"x₁ = \[([^\]]+)\]", detail.inner_text())
    assert x_text and _near(x_text.group(1), forward["x"][0], 2)
    header = re.search(r"input “([^”]+)”", detail.inner_text())
    assert header and _near(header.group(1), forward["x"][0], 2)
    caption = page.locator("[data-view=outputs] .caption")
    page.wait_for_function(
        "document.querySelector('[data-view=outputs] .caption').textContent.startsWith('t = 1:')"
    )
    truth = re.search(r"truth (-?\d+\.\d+)", caption.inner_text())
    assert truth and _near(truth.group(1), forward["target_value"][0], 3)
