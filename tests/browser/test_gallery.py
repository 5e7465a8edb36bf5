"""The architecture gallery in real headless Chromium against a real server."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

CARD = "[data-architecture={}]"
ARCHITECTURES = ("one_to_many", "many_to_one", "many_to_many", "encoder_decoder")


def open_gallery(page, live_server: LiveServer, query: str = "") -> None:
    page.goto(f"{live_server.http}/gallery{query}")
    page.wait_for_selector(".topbar .badge[data-state=open]")
    for architecture in ARCHITECTURES:
        page.wait_for_selector(f"{CARD.format(architecture)} .diagram .step")


def count(page, selector: str) -> int:
    return page.locator(selector).count()


def counts(page, *selectors: str) -> list[int]:
    """Several counts read in one instant: a playing diagram redraws between two reads."""
    return page.evaluate(
        "(selectors) => selectors.map((s) => document.querySelectorAll(s).length)", list(selectors)
    )


def test_four_live_diagrams_show_where_inputs_outputs_and_context_go(
    page, live_server: LiveServer
) -> None:
    open_gallery(page, live_server)
    sessions = {page.get_attribute(CARD.format(a), "data-session") for a in ARCHITECTURES}
    assert len(sessions) == 4  # four runs, one per diagram

    # They play on their own: steps light up in every diagram.
    for architecture in ARCHITECTURES:
        page.wait_for_selector(f"{CARD.format(architecture)} .step.done")

    melody = CARD.format("one_to_many")  # one seed note in, an output at every step
    seeds, outputs, steps = counts(
        page, f"{melody} .input:not(.none)", f"{melody} .output", f"{melody} .step"
    )
    assert seeds == 1 and outputs == steps

    sentiment = CARD.format("many_to_one")  # every word in, one verdict out
    outputs, inputs, steps = counts(
        page, f"{sentiment} .output", f"{sentiment} .input", f"{sentiment} .step:not(.pad)"
    )
    assert outputs == 1 and inputs == steps

    tagging = CARD.format("many_to_many")  # one tag per word
    outputs, steps = counts(page, f"{tagging} .output", f"{tagging} .step:not(.pad)")
    assert outputs == steps

    numbers = CARD.format("encoder_decoder")  # the context vector between the two networks
    boxes, decoders = counts(page, f"{numbers} .context-box", f"{numbers} .cell.decoder")
    assert boxes == 1 and decoders >= 2
    encoder_outputs = page.evaluate(
        f"""() => [...document.querySelectorAll('{numbers} .step')]
              .filter((s) => !s.querySelector('.cell.decoder') && s.querySelector('.output'))
              .length"""
    )
    assert encoder_outputs == 0
    page.wait_for_selector(f"{numbers} .context .strip rect")  # c, drawn live
    screenshot(page, "gallery")


def test_each_diagram_is_driven_by_its_own_controls(page, live_server: LiveServer) -> None:
    open_gallery(page, live_server, "?play=0")
    melody = CARD.format("one_to_many")
    assert page.get_attribute(f"{melody} [data-action=play]", "aria-pressed") == "false"
    assert count(page, f"{melody} .step.done") == 0
    page.click(f"{melody} [data-action=step]")
    page.wait_for_selector(f"{melody} .step.done[data-t='0']")
    assert count(page, f"{CARD.format('many_to_one')} .step.done") == 0  # the others stay put

    numbers = CARD.format("encoder_decoder")
    page.click(f"{numbers} [data-action=train]")
    page.wait_for_function(
        f"document.querySelector('{numbers} [data-role=readout]').textContent.includes('accuracy')"
    )
    page.wait_for_function(f"!document.querySelector('{numbers} [data-action=train]').disabled")
    page.click(f"{numbers} [data-action=play]")
    page.click(f"{numbers} [data-action=focus]")
    assert page.locator(melody).is_hidden()
    page.wait_for_function(f"document.querySelectorAll('{numbers} .output.right').length >= 3")
    screenshot(page, "gallery-encoder-decoder")
