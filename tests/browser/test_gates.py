"""Inside gated cells, in headless Chromium against a real server: an LSTM walked forward and back
draws its gate strips and its cell-state line, and the gradient along that line; the popup shows
each gate's equation and a_t's terms; the encoder-decoder's flow crosses the context; the lesson
card walks a vanilla RNN and an LSTM back side by side."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import open_playground, set_knob, shoot, wait_drawn, wait_frame
from tests.browser.test_lessons import open_card, wait_done
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

LSTM = "?preset=adding-lstm-long&seq_len=4"  # four steps: every label drawn in full
FORMAT = "(x) => import('/static/js/format.js').then((m) => m.formatNumber(x, 2))"


def step(page, key: str, kind: str, t: int, count: int = 1) -> dict:
    """Press a key and wait for that step's count-th frame (this run's) to be drawn."""
    page.keyboard.press(key)
    frame = wait_frame(page, kind, count, where=f"f.t === {t}")
    wait_drawn(page)
    return frame


def column(page, t: int) -> str:
    return f".unrolled .step[data-t='{t}']"


def displayed(page, selector: str) -> bool:
    """Whether an SVG element and its groups are displayed (a flat line has no box to see)."""
    return page.eval_on_selector(
        selector,
        """(el) => {
          for (let node = el; node && node.tagName !== "svg"; node = node.parentNode) {
            if (getComputedStyle(node).display === "none") return false;
          }
          return true;
        }""",
    )


def test_an_lstm_walked_forward_and_back_draws_gates_cell_state_and_its_gradient(
    page, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http, LSTM)
    forwards = [step(page, "ArrowRight", "forward", t) for t in range(4)]
    for t, frame in enumerate(forwards):
        assert list(frame["gates"]) == ["i", "f", "o", "g", "c"] and len(frame["terms"]) == 3
        strips = page.eval_on_selector_all(
            f"{column(page, t)} .gate-strips .gate", "gs => gs.map((g) => g.dataset.gate)"
        )
        assert strips == ["i", "f", "o", "g"]  # the cell's own gates, in its order
        assert page.locator(f"{column(page, t)} .gate[data-gate=f] rect").count() == 16
        assert page.locator(f"{column(page, t)} .cell-state rect").count() == 16  # c_t, H units
        assert displayed(page, f"{column(page, t)} .cell-rail")
        assert page.locator(f"{column(page, t)} > .strip").is_hidden()  # h sits under the gates
    # A forget gate near 1 (b_f = 3) is drawn dark green: open.
    fill = page.locator(f"{column(page, 0)} .gate[data-gate=f] rect").first.get_attribute("fill")
    red, green, blue = (int(v) for v in fill[4:-1].split(","))
    assert green > red + 40 and green > blue and green < 120
    assert page.locator(".gate-legend").is_visible()

    labels = []
    for t in reversed(range(4)):  # BPTT: the cell state's gradient label appears step by step
        frame = step(page, "ArrowLeft", "backward", t)
        assert frame["dc_norm"] > 0 and len(frame["dc"]) == 16
        label = page.locator(f"{column(page, t)} .grad-c-label").text_content()
        assert label == f"‖∂L/∂c‖ {page.evaluate(FORMAT, frame['dc_norm'])}"
        assert all(
            page.locator(f"{column(page, k)} .grad-c-label").text_content() == "" for k in range(t)
        )
        labels.append(label)
        if t < 3:  # arriving from step t + 1 along the rail
            assert page.locator(f"{column(page, t)} .grad-c.on").count() == 1
    # Every step keeps its own label: b_f = 3 keeps ||dL/dc_t|| within a few per cent of 0.05.
    shown = [page.locator(f"{column(page, t)} .grad-c-label").text_content() for t in (3, 2, 1, 0)]
    assert shown == labels
    page.locator("[data-view=gradients]").scroll_into_view_if_needed()  # drawn when in view
    page.wait_for_function(
        "[...document.querySelectorAll('[data-view=gradients] .js-plotly-plot')]"
        ".some((p) => p.data?.some((d) => d.name === '‖∂L/∂c_t‖' && d.y.every((v) => v > 0)))"
    )
    page.locator("[data-area=network]").scroll_into_view_if_needed()
    shoot(page, "gates-lstm-1280")
    page.set_viewport_size({"width": 1920, "height": 1080})
    wait_drawn(page)
    shoot(page, "gates-lstm-1920")


def test_the_popup_shows_each_gate_and_the_split_pre_activation(
    page, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http, LSTM)
    forward = [step(page, "ArrowRight", "forward", t) for t in range(3)][2]
    page.click(column(page, 2))
    detail = page.locator("[data-view=cell-detail]")
    detail.wait_for(state="visible")
    text = detail.inner_text().replace("\n", " ")
    for gate in ("i₂ = σ(Wxi x₂ + Whi h₁ + bi)", "f₂ = σ(Wxf", "o₂ = σ(Wxo", "c₂ = f₂ ⊙ c₁"):
        assert gate in text
    assert f"{forward['gates']['f'][0]:.2f}" in text
    terms = detail.locator("table.terms tr")
    assert terms.count() == 4  # W_xg x_t, W_hg h_{t-1}, b_g, and their sum a_t
    assert terms.nth(2).inner_text().startswith("bg")
    assert f"{forward['terms'][1][0]:.2f}" in terms.nth(1).inner_text()
    page.keyboard.press("Escape")
    # The clicked network keeps the focus, and there the arrows move between steps: hand the
    # keys back to the page, whose arrows step the run.
    page.evaluate("document.activeElement.blur()")
    step(page, "ArrowRight", "forward", 3)
    step(page, "ArrowLeft", "backward", 3)
    step(page, "ArrowLeft", "backward", 2)
    page.click(column(page, 2))
    detail.wait_for(state="visible")
    assert "∂c₂/∂c₁ = diag(f₂)" in detail.inner_text()
    shoot(page, "gates-popup-1280")


def test_a_gru_draws_its_own_gates_and_no_cell_state(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, LSTM + "&cell=gru")
    step(page, "ArrowRight", "forward", 0)
    strips = page.eval_on_selector_all(
        f"{column(page, 0)} .gate-strips .gate", "gs => gs.map((g) => g.dataset.gate)"
    )
    assert strips == ["z", "r", "h_tilde"]
    assert not displayed(page, f"{column(page, 0)} .cell-rail")
    set_knob(page, "[name=cell]", "rnn")  # a vanilla run of the same shape keeps the drawing
    page.wait_for_function("window.unroll.state.get('config').cell === 'rnn'")
    assert page.locator("[name=forget_bias]").is_disabled()
    step(page, "ArrowRight", "forward", 0, count=2)  # the GRU's step 0 came first
    assert not displayed(page, f"{column(page, 0)} .gated")
    assert page.locator(f"{column(page, 0)} > .strip .unit").count() == 16


def test_the_forget_bias_knob_restarts_an_lstm_with_that_bias(
    page, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http, LSTM)
    assert page.locator("[name=forget_bias]").is_enabled()
    set_knob(page, "[name=forget_bias]", 1)
    page.wait_for_function("window.unroll.state.get('config').forget_bias === 1")
    assert "forget_bias=1" in page.url


def test_the_encoder_decoder_flow_crosses_the_context(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=numbers")
    page.click("button[data-command=finish_iteration]")
    wait_frame(page, "update")
    page.evaluate("window.unroll.timeline.seek(window.unroll.timeline.length - 1)")
    page.locator("[data-view=flow]").scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelector('[data-view=flow] .caption').textContent.includes('context')"
    )
    # The caption is written at once; plotly may still be loading: wait for the drawn chart.
    shapes_drawn = (
        "document.querySelector('[data-view=flow] .js-plotly-plot')?.layout?.shapes?.length"
    )
    page.wait_for_function(f"({shapes_drawn}) > 0")
    shapes = page.evaluate(shapes_drawn)
    assert shapes == 3  # the boundary's two dashed lines and the encoder's loss-free rows
    shoot(page, "gates-seq2seq-flow-1280")


def test_the_cell_state_card_walks_both_runs_back(page, live_server: LiveServer) -> None:
    open_card(page, live_server, 9)
    assert page.get_attribute(".lesson-card", "data-card") == "cellstate"
    for _ in range(4):
        page.click("[data-extra='◀ 10 BPTT steps']")
        page.wait_for_function(
            "!document.querySelector(\"[data-extra='◀ 10 BPTT steps']\").disabled"
        )
    wait_done(page)
    live = page.locator("[data-role=live]").inner_text()
    assert "vanilla RNN" in live and "LSTM" in live and "(t = 0)" in live
    for view in ("pair-rnn", "pair-lstm"):  # both charts reached t = 0
        page.wait_for_function(
            f"document.querySelector('[data-view={view}] .caption').textContent.includes('t = 0')"
        )
    screenshot(page, "lessons-9-cellstate")
