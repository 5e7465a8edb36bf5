"""Opening each page settled, and reading what a person would see: widths, targets, text sizes."""

from __future__ import annotations

from typing import Any

from tests.browser.helpers import open_playground


def settle_lessons(page: Any) -> None:
    page.wait_for_function("document.querySelector('.lesson-card').dataset.ready === 'true'")


def settle_lab(page: Any) -> None:
    page.wait_for_function(
        "document.querySelector('.readouts td[data-role=measured]')?.textContent.startsWith('×')"
    )


def settle_gallery(page: Any) -> None:
    page.wait_for_function("document.querySelectorAll('.diagram svg .step').length >= 16")


SETTLE = {"/lessons": settle_lessons, "/lab": settle_lab, "/gallery": settle_gallery}


def settle_charts(page: Any) -> None:
    """Every chart in view drawn (plotly.js comes after the first view; charts out of view wait
    to be drawn), and no render left to do."""
    page.wait_for_function(
        """[...document.querySelectorAll('.plot, .lab-plot')]
             .filter((plot) => plot.offsetParent !== null)
             .filter((plot) => plot.getBoundingClientRect().top < window.innerHeight)
             .every((plot) => plot._fullLayout)"""
    )
    page.wait_for_function("!window.unroll?.frameStats || window.unroll.frameStats.pending === 0")


def open_page(page: Any, base: str, path: str) -> None:
    """Load a page and wait until it shows what it is for."""
    if path == "/" or path.startswith("/?"):
        open_playground(page, base, path.removeprefix("/"))
        return
    page.goto(base + path)
    settle = SETTLE.get(path.split("?")[0])
    if settle:  # a page with live runs (the room's lobby has none)
        page.wait_for_selector(".topbar .badge[data-state=open]")
        settle(page)


# Visible text drawn smaller than `least` px: HTML text at its computed size, SVG text (the
# network, plotly's ticks, legends and annotations) at its size times the drawing's scale.
SMALL_TEXT = """(least) => {
  const small = [];
  const seen = new Set();
  const skip = "script, style, title, dialog:not([open]), .visually-hidden, .skip-link";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !element || seen.has(element)) continue;
    seen.add(element);
    if (element.closest(skip)) continue;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (box.width < 2 || box.height < 2) continue;
    if (style.visibility === "hidden" || style.opacity === "0") continue;
    let size = parseFloat(style.fontSize);
    if (element instanceof SVGElement) {
      const m = element.getScreenCTM();
      size *= m ? Math.hypot(m.a, m.b) : 1;
    }
    const text = element.textContent.trim().slice(0, 24);
    if (size < least) small.push(`${text} (${size.toFixed(1)} px)`);
  }
  return small;
}"""

# Controls smaller than 24 x 24 px (WCAG 2.2, 2.5.8); links inside a sentence are exempt.
SMALL_TARGETS = """() => {
  const controls = document.querySelectorAll(
    "button, select, input:not([type=hidden]), a[href], [role=button], [tabindex='0']"
  );
  const small = [];
  for (const control of controls) {
    const box = control.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue; // not shown
    if (control.closest(".visually-hidden, .skip-link")) continue;
    if (control.matches("a") && control.closest("p, li, dd, figcaption, .lesson-strip")) continue;
    if (box.width < 24 || box.height < 24) {
      const name = control.textContent.trim().slice(0, 20) || control.name || "";
      small.push(`${control.tagName} ${name} ${box.width.toFixed(0)}x${box.height.toFixed(0)}`);
    }
  }
  return small;
}"""

# Pairs of text boxes that overlap inside one chart or readout: tick labels, axis titles,
# annotations, legend entries.
OVERLAPS = """(selector) => {
  const pairs = [];
  for (const root of document.querySelectorAll(selector)) {
    const texts = [...root.querySelectorAll("text, .stats dt, .stats dd, .readout dt, .readout dd")]
      .filter((t) => t.textContent.trim() && !t.closest(".hoverlayer"))
      .map((t) => [t.textContent.trim(), t.getBoundingClientRect()])
      .filter(([, b]) => b.width > 0 && b.height > 0);
    for (let i = 0; i < texts.length; i++) {
      for (let j = i + 1; j < texts.length; j++) {
        const [a, p] = texts[i];
        const [b, q] = texts[j];
        const x = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const y = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        if (x > 1 && y > 1) pairs.push(`${a} / ${b}`);
      }
    }
  }
  return pairs;
}"""
