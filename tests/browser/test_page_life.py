"""Views that never go blank, lessons that remember, and nothing that leaves the machine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import open_playground, wait_frame
from tests.browser.pages import settle_charts
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_after_training_the_views_show_the_latest_sequence_forward_and_back(
    page: Any, live_server: LiveServer
) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    T = page.evaluate("window.unroll.state.get('config').seq_len")
    page.evaluate("window.unroll.stream.request('train', { iterations: 200 })")
    replay = wait_frame(page, "replay")  # the last picture of the training
    assert replay["iteration"] == 200 and len(replay["forward"]) == len(replay["backward"]) == T
    page.wait_for_function(f"document.querySelectorAll('.unrolled .step.done').length === {T}")
    assert page.locator(".unrolled .step.back").count() == T  # BPTT drawn too
    assert page.locator(".unrolled .step.pending").count() == 0
    label = page.locator(".unrolled .step[data-t='0'] .grad-label").text_content()
    number = "(x) => import(document.querySelector('script[type=module]').src"
    number += ".replace('main.js', 'format.js')).then((m) => m.formatNumber(x, 2))"
    assert label.endswith(page.evaluate(number, replay["backward"][-1]["dh_norm"]))
    page.locator("[data-view=flow]").scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelector('[data-view=gradients] .caption').textContent"
        f".startsWith('From t = {T - 1} back to t = 0')"
    )
    page.wait_for_selector("[data-view=flow] .heatmaplayer .hm")
    # The run's own cursor did not move: the next step starts the iteration shown, from t = 0.
    assert page.inner_text("[data-role=phase]") == f"next: forward step t = 0 of {T}"
    page.click("button[data-command=advance]")
    wait_frame(page, "forward", where="f.t === 0 && f.iteration === 200")
    page.wait_for_function("document.querySelectorAll('.unrolled .step.done').length === 1")
    assert page.locator(".unrolled .step.back").count() == 0


def test_lesson_progress_survives_a_reload(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.http}/lessons?card=1")
    page.wait_for_function("document.querySelector('.lesson-card').dataset.ready === 'true'")
    for _ in range(3):
        page.click("[data-view=transport] button[data-command=step_forward]")
    page.wait_for_function("document.querySelector('.lesson-card').dataset.done === 'true'")
    page.reload()
    page.wait_for_function("document.querySelector('.lesson-card').dataset.ready === 'true'")
    assert page.get_attribute(".lesson-card", "data-done") == "true"
    assert page.get_attribute(".dots a:first-child", "class") == "done"
    assert page.get_attribute(".dots a:first-child", "aria-label").endswith("(done)")
    assert page.get_attribute(".dots a:nth-child(2)", "class") in (None, "")  # not done yet


def test_no_control_sends_anything_off_the_machine(page: Any, live_server: LiveServer) -> None:
    open_playground(page, live_server.http)
    page.click("button[data-command=finish_iteration]")
    wait_frame(page, "update")
    settle_charts(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    for plot in page.locator(".js-plotly-plot").all():
        if plot.is_visible():
            plot.hover()
    titles = page.eval_on_selector_all(
        ".modebar-btn", "(buttons) => buttons.map((b) => b.getAttribute('data-title'))"
    )
    assert titles and not [t for t in titles if "Share" in t or "Chart Studio" in t or "Edit" in t]
    configs = page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].map((p) => p._context.showSendToCloud)"
    )
    assert configs and not any(configs)
    assert all(url.startswith(live_server.http) or url.startswith("ws") for url in requests)
