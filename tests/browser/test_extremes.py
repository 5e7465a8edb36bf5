"""Charts stay honest at the extremes: a run driven into inf/NaN, charts before any data, and
sentences that quote the numbers of the frame they describe."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.browser.helpers import open_playground, shoot, wait_frame
from tests.browser.pages import OVERLAPS, open_page, settle_charts
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

TICKS = """[...document.querySelectorAll('.js-plotly-plot :is(.xtick, .ytick) text')]
  .map((t) => t.textContent)"""
READABLE = ".js-plotly-plot, .stats, .readout, .chart-legend, .colour-scale"


def show_everything(page: Any) -> None:
    """Charts out of view wait to be drawn: make the viewport as tall as the page."""
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    settle_charts(page)


def test_a_run_driven_into_inf_and_nan_is_drawn_honestly(
    sized_page: Any, live_server: LiveServer
) -> None:
    page = sized_page(1280, 720)
    open_playground(page, live_server.http, "?preset=gradients-relu-1.5")  # ReLU, ρ 1.5, no clip
    page.evaluate("window.unroll.stream.request('train', { iterations: 300 })")
    wait_frame(page, "sequence")  # training ends by announcing the next sequence
    progress = page.evaluate("window.__frames.filter((f) => f.type === 'progress').at(-1)")
    assert progress["skipped"] > 0  # the gradients overflowed
    T = page.evaluate("window.unroll.state.get('config').seq_len")
    page.click("button[data-command=finish_iteration]")  # a whole iteration at these weights
    wait_frame(page, "update")
    for t in range(T):
        page.click("button[data-command=advance]")
        wait_frame(page, "forward", where=f"f.t === {t} && f.iteration === 301")
    for t in reversed(range(T)):
        page.click("button[data-command=advance]")
        wait_frame(page, "backward", where=f"f.t === {t} && f.iteration === 301")
    backward = page.evaluate("window.__frames.filter((f) => f.type === 'backward')")
    assert not all(math.isfinite(f["dh_norm"]) for f in backward)  # inf/NaN on screen
    show_everything(page)
    ticks = page.evaluate(TICKS)
    assert ticks and not [t for t in ticks if "NaN" in t or "Infinity" in t], ticks
    assert page.evaluate(OVERLAPS, READABLE) == []
    assert "NaNNaN" not in page.inner_text("body")
    layouts = page.evaluate(
        """Object.fromEntries([...document.querySelectorAll('[data-view] > .js-plotly-plot')]
             .map((p) => [p.parentElement.dataset.view, p.layout.yaxis])
             .map(([view, y]) => [view, [y.type, y.ticktext ?? []]]))"""
    )
    assert layouts["training"][0] == "log"  # the loss exploded: its axis turned logarithmic
    assert layouts["gradients"][0] == "log" and "not finite" in layouts["gradients"][1]
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    page.set_viewport_size({"width": 1280, "height": 720})
    shoot(page, "playground-nonfinite", full_page=True)


@pytest.mark.parametrize("path", ["/", "/lab", "/lessons?card=7"])
def test_charts_before_any_data_say_what_to_do_without_crowded_ticks(
    page: Any, live_server: LiveServer, path: str
) -> None:
    open_page(page, live_server.http, path)
    show_everything(page)
    assert page.evaluate(OVERLAPS, READABLE) == []
    log_ticks = page.evaluate(
        """[...document.querySelectorAll('.js-plotly-plot')]
             .filter((plot) => plot.layout.yaxis?.type === 'log')
             .filter((plot) => plot.data.every((t) => (t.y ?? []).every((v) => v === null)))
             .flatMap((plot) => [...plot.querySelectorAll('.ytick text')])
             .map((t) => t.textContent)"""
    )
    assert log_ticks and all(t.startswith("1") for t in log_ticks), log_ticks  # powers of 10 only
    if path != "/":
        notes = page.evaluate(
            "[...document.querySelectorAll('.update-plot .annotation-text')]"
            ".map((a) => a.textContent)"
        )
        assert notes and all(n.startswith("no update yet") for n in notes)


def test_the_lab_s_sentences_quote_the_measurement_after_training(
    page: Any, live_server: LiveServer
) -> None:
    open_page(page, live_server.http, "/lab?A=rnn,linear,1.5,none,1")
    before = page.evaluate("window.unroll.runs.A.last('diagnostics').largest_singular_value")
    page.locator("#clipping [data-action=train]").dispatch_event("click")
    page.wait_for_function("document.querySelector('#clipping [data-action=stop]').disabled")
    page.wait_for_function(
        "document.querySelector('[data-role=update-notes] li').textContent.includes('50 updates')"
    )
    diagnostics = page.evaluate("window.unroll.runs.A.last('diagnostics')")
    assert diagnostics["iteration"] == 50 and diagnostics["largest_singular_value"] != before
    sigma = page.evaluate(
        "([x]) => import(document.querySelector('script[type=module]').src"
        ".replace('lab/main.js', 'format.js')).then((m) => m.formatNumber(x, 2))",
        [diagnostics["largest_singular_value"]],
    )
    prose = page.inner_text(".verdicts p[data-run=A]")
    assert f"= {sigma}" in prose.replace("σmax", "σ_max")
    row = page.eval_on_selector_all(
        ".readouts tr[data-run=A] td", "(tds) => tds.map((t) => t.textContent)"
    )
    assert row[2] == sigma  # the table's σ_max is the same measurement's
