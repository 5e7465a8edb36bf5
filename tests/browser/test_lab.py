"""The gradient lab in real headless Chromium against a real server."""

from __future__ import annotations

import math
import re

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

MEASURED_CELL = ".readouts tr[data-run={run}] td[data-role=measured]"
MEASURED = "document.querySelector('" + MEASURED_CELL + "')"

# Every cell panel's note (RNN, LSTM, GRU) says something.
NOTES_SAY = (
    "[...document.querySelectorAll('[data-role=cell-note]')]"
    ".every((n) => n.textContent.includes('{}'))"
)

# The largest |eigenvalue| the spectrum chart draws for run A (its first eigenvalue trace).
EIGEN_RADIUS = """() => {
  const plot = document.querySelector('[data-chart=spectrum] .js-plotly-plot');
  const trace = plot?.data?.find((t) => t.name === 'A eigenvalues');
  if (!trace) return NaN;  // plotly loads after the page's first view: not drawn yet
  return Math.max(...trace.x.map((x, i) => Math.hypot(x, trace.y[i])));
}"""


def open_lab(
    page, live_server: LiveServer, query: str = "", runs: tuple[str, ...] = ("A",)
) -> None:
    page.goto(f"{live_server.http}/lab{query}")
    page.wait_for_selector(".topbar .badge[data-state=open]")
    for run in runs:
        page.wait_for_function(f"{MEASURED.format(run=run)}?.textContent.startsWith('×')")


def press(page, selector: str) -> None:
    """Click a button where it is, without scrolling to it.

    Scrolling down to the clipping buttons would bring the RNN/LSTM/GRU section on screen, and
    its three runs would start: work (and sockets) that the test does not look at.
    """
    page.locator(selector).dispatch_event("click")


def slide(page, selector: str, rho: float) -> None:
    """Drag the logarithmic spectral radius slider to rho (as the input event a drag fires)."""
    position = round(1000 * math.log(rho / 0.1) / math.log(50))
    page.eval_on_selector(
        selector,
        "(s, v) => { s.value = v; s.dispatchEvent(new Event('input', { bubbles: true })); }",
        position,
    )


def test_the_eigenvalues_move_with_the_spectral_radius_slider(
    page, live_server: LiveServer
) -> None:
    open_lab(page, live_server)
    page.wait_for_function(f"({EIGEN_RADIUS})() > 0.99")
    assert abs(page.evaluate(EIGEN_RADIUS) - 1.0) < 0.01  # orthogonal W_hh at ρ = 1
    before = page.locator(MEASURED_CELL.format(run="A")).inner_text()

    slide(page, "fieldset[data-run=A] [name=rho]", 2.0)
    # The server rescaled W_hh: its spectrum frame says so, and the chart redraws from it.
    page.wait_for_function(
        "Math.abs(window.unroll.runs.A.last('spectrum').spectral_radius - 2) < 0.02"
    )
    page.wait_for_function(f"Math.abs(({EIGEN_RADIUS})() - 2) < 0.02")
    assert page.locator("fieldset[data-run=A] [data-role=rho]").inner_text() == "2.00"
    page.wait_for_function(f"{MEASURED.format(run='A')}.textContent !== {before!r}")
    table = page.locator(".readouts tr[data-run=A]").inner_text()
    assert "2.00" in table  # ρ(W_hh) and σ_max read off the new spectrum
    assert "?T=20" in page.url and "A=rnn%2Ctanh%2C2%2C" in page.url  # the setup is shareable
    verdict = page.locator(".verdicts p[data-run=A]").inner_text()
    assert "σmax = 2.00 > 1/γ = 1.00" in verdict and "not certain" in verdict

    slide(page, "fieldset[data-run=A] [name=rho]", 0.5)
    page.wait_for_function(f"Math.abs(({EIGEN_RADIUS})() - 0.5) < 0.02")
    page.wait_for_function(
        "document.querySelector('.verdicts p[data-run=A]').textContent.includes('vanishes')"
    )
    screenshot(page, "lab-vanishing")


def test_saturated_tanh_keeps_a_large_sigma_from_exploding(page, live_server: LiveServer) -> None:
    open_lab(page, live_server, "?init=identity&A=rnn,tanh,3,none,1")
    verdict = page.locator(".verdicts p[data-run=A]")
    page.wait_for_function(
        "document.querySelector('.verdicts p[data-run=A]')?.textContent.includes('Not sufficient')"
    )
    text = verdict.inner_text()
    assert "σmax = 3.00 > 1/γ" in text and "vanishes" in text
    screenshot(page, "lab-not-sufficient")


def test_ab_runs_two_configurations_on_the_same_data_in_one_chart(
    page, live_server: LiveServer
) -> None:
    open_lab(page, live_server, "?ab=1&A=rnn,linear,1.5,none,1&B=rnn,linear,1.5,norm,1", ("A", "B"))
    assert page.locator("fieldset[data-run=B]").is_visible()
    tokens = page.evaluate("[window.unroll.runs.A.hello.tokens, window.unroll.runs.B.hello.tokens]")
    assert tokens[0] == tokens[1]  # same data, same seed
    sessions = page.evaluate("[window.unroll.runs.A.sessionId, window.unroll.runs.B.sessionId]")
    assert sessions[0] != sessions[1]  # two runs on the server
    # One flow chart overlays both runs: A's and B's measured curves are drawn.
    # plotly loads after the page's first view, so the chart may not exist yet: wait for it.
    drawn_names = """() => (document.querySelector('[data-chart=flow] .js-plotly-plot')?.data ?? [])
        .filter((t) => t.visible !== false && t.y.some((v) => v !== null)).map((t) => t.name)"""
    page.wait_for_function(
        f"(({drawn_names})()).some((n) => n.startsWith('A:'))"
        f" && (({drawn_names})()).some((n) => n.startsWith('B:'))"
    )
    drawn = page.evaluate(drawn_names)
    assert any(n.startswith("A:") for n in drawn) and any(n.startswith("B:") for n in drawn)
    screenshot(page, "lab-ab")

    # Train, and stop once both runs have made five updates: enough for A to overflow (its third
    # update already does) and for B to be clipped; the page finishes the update in flight.
    press(page, "#clipping [data-action=train]")
    page.wait_for_function(
        """() => [...document.querySelectorAll('.update-notes li')]
             .every((li) => Number(li.textContent.match(/(\\d+) updates/)?.[1]) >= 5)"""
    )
    press(page, "#clipping [data-action=stop]")
    page.wait_for_selector("#clipping [data-action=train]:not([disabled])")
    assert page.locator("#clipping [data-action=stop]").is_disabled()
    counts = page.evaluate(
        "[...document.querySelectorAll('.update-notes li')].map((li) => li.textContent)"
    )
    assert all(5 <= int(re.findall(r"(\d+) updates", text)[0]) <= 50 for text in counts), counts
    notes = {
        run: page.locator(f".update-notes li[data-run={run}]").inner_text() for run in ("A", "B")
    }
    assert "updates: 0 clipped" in notes["A"]  # clipping off: the explosion overflows
    assert "NaN" in notes["A"] and " 0 skipped" not in notes["A"]  # shown, and not applied
    assert " 0 skipped" in notes["B"] and "updates: 0 clipped" not in notes["B"]  # clipped instead
    screenshot(page, "lab-ab-trained")  # A has overflowed: NaN and ∞ are shown, not hidden


def test_switching_clipping_sends_set_hyper_and_changes_the_update(
    page, live_server: LiveServer
) -> None:
    open_lab(page, live_server, "?A=rnn,linear,1.5,none,1")
    page.select_option("fieldset[data-run=A] [name=clip]", "norm")
    page.wait_for_function("!document.querySelector('fieldset[data-run=A] [name=c]').disabled")
    press(page, "#clipping [data-action=update]")
    note = page.locator(".update-notes li[data-run=A]")
    page.wait_for_function(
        "document.querySelector('.update-notes li[data-run=A]').textContent.includes('1 updates')"
    )
    assert "rescaled to 1.000" in note.inner_text() or "not clipped" in note.inner_text()
    config = page.evaluate("window.unroll.runs.A.config")
    assert config["activation"] == "linear"
    assert "A=rnn%2Clinear%2C1.5%2Cnorm%2C1" in page.url


def test_rnn_lstm_and_gru_side_by_side_on_the_same_sequences(page, live_server: LiveServer) -> None:
    open_lab(page, live_server)
    page.locator("#cells").scroll_into_view_if_needed()  # its three runs start when on screen
    page.wait_for_function(NOTES_SAY.format("×"))
    cells = page.evaluate(
        "[...document.querySelectorAll('.cell-panel')].map((p) => p.dataset.cell)"
    )
    assert cells == ["rnn", "lstm", "gru"]
    tokens = page.evaluate("window.unroll.cells.runs.map((run) => run.hello.tokens)")
    assert tokens[0] == tokens[1] == tokens[2]  # the gated cells were put on the RNN's data
    page.click("[data-action=train-cells]")
    page.wait_for_function(NOTES_SAY.format("held-out MSE"))
    page.click("[data-action=pause-cells]")
    page.wait_for_function(
        "document.querySelector('[data-role=cells-status]').textContent.startsWith('done')"
    )
    screenshot(page, "lab-cells")
