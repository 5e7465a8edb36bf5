"""Every control of the playground changes what the server runs; keyboard; the URL round trip."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.helpers import (
    clear_recording,
    config,
    frames,
    open_playground,
    request,
    sent,
    set_knob,
    wait_drawn,
    wait_frame,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def configured(page, field: str, value: object) -> dict:
    """Wait for the hello of the run restarted with field = value."""
    where = f"f.config[{field!r}] === {value!r}".replace("None", "null")
    return wait_frame(page, "hello", where=where)


def exported_config(page) -> dict:
    """What the server's session really holds: ask it for an export."""
    return request(page, "export")["state"]["config"]


def test_every_knob_changes_the_run(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=hello")

    # Knobs that restart the run: the next hello carries them.
    set_knob(page, "[data-view=settings] [name=activation]", "relu")
    configured(page, "activation", "relu")
    set_knob(page, "[data-view=settings] [name=cell]", "gru")
    configured(page, "cell", "gru")
    assert page.locator("[name=activation]").is_disabled()  # gated cells have no choice of f
    set_knob(page, "[data-view=settings] [name=cell]", "rnn")
    configured(page, "cell", "rnn")
    set_knob(page, "[data-view=settings] [name=hidden_size]", 7)
    hello = configured(page, "hidden_size", 7)
    page.click("button[data-command=advance]")
    assert len(wait_frame(page, "forward")["h"]) == 7
    set_knob(page, "[data-view=settings] [name=task]", "text")
    configured(page, "task", "text")
    set_knob(page, "[data-view=settings] [name=seq_len]", 12)
    assert configured(page, "seq_len", 12)["seq_len"] == 12
    set_knob(page, "[data-view=settings] [name=init]", "orthogonal")
    configured(page, "init", "orthogonal")
    set_knob(page, "[data-view=settings] [name=spectral_radius]", 0.9)
    configured(page, "spectral_radius", 0.9)
    spectrum = wait_frame(page, "spectrum", where="Math.abs(f.spectral_radius - 0.9) < 1e-3")
    assert spectrum["matrix"] == "W_hh"
    set_knob(page, "[data-view=settings] [name=truncation]", 3)
    configured(page, "truncation", 3)
    set_knob(page, "[data-view=settings] [name=seed]", 42)
    hello = configured(page, "seed", 42)
    assert hello["seed"] == 42
    set_knob(page, "[data-view=settings] [name=optimizer]", "sgd")
    configured(page, "optimizer", "sgd")

    # Knobs that change the run as it goes: set_hyper, no new hello, and the session has them.
    hellos = len(frames(page, "hello"))
    set_knob(page, "[data-view=settings] [name=learning_rate]", -2)  # log slider: 10^-2
    wait_frame(page, "ack", where="f.command === 'set_hyper'")
    set_knob(page, "[data-view=settings] [name=clip_mode]", "norm")
    wait_frame(page, "ack", count=2, where="f.command === 'set_hyper'")
    set_knob(page, "[data-view=settings] [name=clip_threshold]", 0)  # 10^0
    wait_frame(page, "ack", count=3, where="f.command === 'set_hyper'")
    assert len(frames(page, "hello")) == hellos
    server = exported_config(page)
    assert (server["learning_rate"], server["clip_mode"], server["clip_threshold"]) == (
        0.01,
        "norm",
        1.0,
    )
    assert page.evaluate("window.unroll.state.get('config').learning_rate") == 0.01

    # Temperature is the run's (set_hyper, no restart); the next sample uses it.
    set_knob(page, "[data-view=settings] [name=temperature]", -0.5)
    wait_frame(page, "ack", count=4, where="f.command === 'set_hyper'")
    assert sent(page, "set_hyper")[-1]["temperature"] == 0.32
    assert len(frames(page, "hello")) == hellos
    assert exported_config(page)["temperature"] == 0.32
    assert "temperature=0.32" in page.url
    page.fill("[data-view=sample] [name=prime]", "the ")
    page.click("button[data-command=sample]")
    sample = wait_frame(page, "sample")
    assert "temperature" not in sent(page, "sample")[-1]  # the run's own, on the server
    assert sample["temperature"] == pytest.approx(0.32)
    assert sample["prime"] == "the "
    page.wait_for_selector("[data-role=sample-text]:has-text('temperature 0.32')")

    # A lesson preset configures its whole run.
    preset = page.evaluate("window.unroll.state.get('presets').find((p) => p.name === 'sine')")
    set_knob(page, "[data-view=presets] select", "sine")
    hello = configured(page, "task", "sine")
    assert {k: hello["config"][k] for k in preset["config"]} == preset["config"]
    page.wait_for_selector(".lesson-strip .lesson-title:has-text('sine')")

    # Speed and play: the play command carries the speed.
    set_knob(page, "[data-view=transport] [name=speed]", 1)  # log slider: 10 steps/s
    clear_recording(page)  # count this run's steps only
    page.click("button[data-role=play]")
    wait_frame(page, "forward", count=3)
    assert sent(page, "play")[-1]["steps_per_second"] == 10
    page.click("button[data-role=play]")  # pause
    wait_frame(page, "ack", where="f.command === 'pause'")
    wait_drawn(page)  # every frame before the pause's ack is drawn

    # The timeline replays steps already computed, without asking the server.
    done = page.evaluate("window.unroll.timeline.frames.filter((f) => f.type === 'forward').length")
    assert done >= 3
    assert page.locator(".unrolled .step.done").count() == done
    set_knob(page, "[data-view=transport] [name=timeline]", 1)
    page.wait_for_function("document.querySelectorAll('.unrolled .step.done').length === 1")
    assert "(1/" in page.locator("[data-role=timeline-value]").inner_text()
    page.click("[data-action=live]")
    page.wait_for_function(f"document.querySelectorAll('.unrolled .step.done').length >= {done}")


def test_keyboard_shortcuts(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    T = config(page)["seq_len"]
    for _ in range(T):
        page.keyboard.press("ArrowRight")
    wait_frame(page, "forward", count=T)
    page.keyboard.press("ArrowLeft")
    wait_frame(page, "backward")
    page.keyboard.press("Shift+ArrowLeft")  # scrub back one step: replayed in the page
    page.wait_for_selector("[data-view=transport].replaying")
    page.wait_for_function("document.querySelectorAll('.unrolled .step.back').length === 0")
    page.keyboard.press("Escape")  # back to live
    page.wait_for_selector("[data-view=transport]:not(.replaying)")
    page.keyboard.press("Enter")
    wait_frame(page, "update")

    page.keyboard.press(" ")  # play
    wait_frame(page, "forward", count=T + 2)
    page.keyboard.press(" ")  # pause
    wait_frame(page, "ack", where="f.command === 'pause'")
    assert page.evaluate("window.unroll.state.get('job')") is None

    page.keyboard.press("t")  # train continuously
    wait_frame(page, "progress", count=2)
    page.keyboard.press("t")  # stop
    wait_frame(page, "ack", count=2, where="f.command === 'pause'")
    page.locator("[data-view=training]").scroll_into_view_if_needed()
    page.wait_for_function(
        "Number(document.querySelector('[data-view=training] .stats dd')?.textContent) > 2"
    )

    clear_recording(page)
    page.keyboard.press("r")
    assert wait_frame(page, "hello")["config"]["seed"] == config(page)["seed"]

    page.keyboard.press("f")
    page.wait_for_selector("body.presenter")
    assert "presenter=1" in page.url
    page.keyboard.press("f")
    page.wait_for_selector("body:not(.presenter)")
    page.keyboard.press("?")
    page.wait_for_selector("dialog.help[open]")
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('dialog.help').open")


def test_a_shared_link_opens_the_same_run(page, browser, live_server: LiveServer) -> None:
    query = "?task=hello&hidden_size=5&seed=7&init_scale=0.3&optimizer=sgd&learning_rate=0.05"
    open_playground(page, live_server.http, query)
    run = config(page)
    assert (run["hidden_size"], run["seed"], run["init_scale"], run["optimizer"]) == (
        5,
        7,
        0.3,
        "sgd",
    )
    # A knob moved is written into the link.
    set_knob(page, "[data-view=settings] [name=truncation]", 2)
    configured(page, "truncation", 2)
    page.wait_for_function("location.search.includes('truncation=2')")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_frame(page, "forward", count=3)
    first = [f["h"] for f in frames(page, "forward")]
    link = page.url
    params = parse_qs(urlparse(link).query)
    assert params["seed"] == ["7"] and params["hidden_size"] == ["5"]

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        other = context.new_page()
        open_playground(other, live_server.http, "?" + urlparse(link).query)
        assert config(other) == config(page)
        for _ in range(3):
            other.keyboard.press("ArrowRight")
        wait_frame(other, "forward", count=3)
        assert [f["h"] for f in frames(other, "forward")] == first
    finally:
        context.close()


def test_errors_show_next_to_the_control_that_caused_them(page, live_server: LiveServer) -> None:
    open_playground(page, live_server.http, "?preset=hello")
    page.click("button[data-command=step_backward]")  # BPTT before the forward pass: refused
    message = page.locator("[data-view=transport] [data-role=message]")
    message.wait_for(state="visible")
    assert "forward pass" in message.inner_text()
    assert "errored" in (page.get_attribute("button[data-command=step_backward]", "class") or "")

    set_knob(page, "[data-view=settings] [name=seed]", 5_000_000_000)  # beyond 2^32 - 1
    error = page.locator("[data-area=seed] .field-error")
    error.wait_for(state="visible")
    assert "4294967295" in error.inner_text()
    assert page.input_value("[data-view=settings] [name=seed]") == str(config(page)["seed"])
    page.console_errors.clear()  # the browser logs nothing for these, but be explicit
