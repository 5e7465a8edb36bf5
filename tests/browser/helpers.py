"""Driving the playground from tests: open it settled, record what crosses the socket, set knobs."""

from __future__ import annotations

import json
from typing import Any

RECORDER = """
() => {
  window.__frames = [];
  window.__sent = [];
  window.unroll.stream.on("frame", (f) => window.__frames.push(f));
  window.unroll.stream.on("sent", (c) => window.__sent.push(c));
}
"""


def open_playground(page: Any, base: str, query: str = "") -> None:
    """Load the playground and wait until it runs the run its link asks for, frames recorded."""
    page.goto(f"{base}/{query}")
    page.wait_for_function("window.unroll && window.unroll.state.get('settled') === true")
    page.wait_for_selector(".unrolled .step[data-t='0']")
    page.evaluate(RECORDER)


def frames(page: Any, kind: str) -> list[dict[str, Any]]:
    """Frames of one type received since recording started."""
    result: list[dict[str, Any]] = page.evaluate(
        "(kind) => window.__frames.filter((f) => f.type === kind)", kind
    )
    return result


def sent(page: Any, kind: str) -> list[dict[str, Any]]:
    """Commands of one type the page sent since recording started."""
    result: list[dict[str, Any]] = page.evaluate(
        "(kind) => window.__sent.filter((c) => c.type === kind)", kind
    )
    return result


def wait_frame(page: Any, kind: str, count: int = 1, where: str = "true") -> dict[str, Any]:
    """Wait for the count-th frame of a type matching `where` (a JS expression on f); return it."""
    predicate = f"(f) => f.type === {json.dumps(kind)} && ({where})"
    page.wait_for_function(f"window.__frames.filter({predicate}).length >= {count}")
    result: dict[str, Any] = page.evaluate(f"window.__frames.filter({predicate})[{count - 1}]")
    return result


def request(page: Any, kind: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send a command as the page does and wait for its answer (the ack, or its reply frame)."""
    result: dict[str, Any] = page.evaluate(
        "([kind, fields]) => window.unroll.stream.request(kind, fields)", [kind, fields or {}]
    )
    return result


def wait_drawn(page: Any) -> None:
    """Wait until every view has drawn the frames received so far (no render left to do)."""
    page.wait_for_function("window.unroll.frameStats.pending === 0")


def wait_charts_fitted(page: Any) -> None:
    """Wait until every chart on screen has the width of its place (Plotly refits on resize)."""
    page.wait_for_function(
        """[...document.querySelectorAll('.js-plotly-plot')]
             .filter((plot) => plot.offsetParent !== null && plot._fullLayout)
             .every((plot) => Math.abs(plot._fullLayout.width - plot.clientWidth) < 2)"""
    )


def config(page: Any) -> dict[str, Any]:
    """The run config the server last confirmed."""
    result: dict[str, Any] = page.evaluate("window.unroll.state.get('config')")
    return result


def set_knob(page: Any, selector: str, value: object) -> None:
    """Set an input or select as a user would (input, then change)."""
    page.eval_on_selector(
        selector,
        """(el, value) => {
          el.value = String(value);
          el.dispatchEvent(new Event("input", { bubbles: true }));
          el.dispatchEvent(new Event("change", { bubbles: true }));
        }""",
        value,
    )


def clear_recording(page: Any) -> None:
    page.evaluate("window.__frames.length = 0; window.__sent.length = 0")


def shoot(page: Any, name: str, *, full_page: bool = False) -> None:
    """A screenshot of the settled page: transitions finished at once, Plotly drawn."""
    from tests.browser.conftest import screenshot

    page.add_style_tag(content="*, *::before { transition: none !important; }")
    viewport = page.viewport_size
    if full_page:  # charts out of view are not redrawn: bring the whole page into view
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    wait_charts_fitted(page)
    wait_drawn(page)
    screenshot(page, name, full_page=full_page)
    page.set_viewport_size(viewport)
