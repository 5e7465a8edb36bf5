"""Classroom mode in real Chromium: the teacher's page is the playground plus the room; students
follow every view read-only, and a fork makes a student's page a playground of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.classroom_pages import (
    KNOBS_DISABLED,
    KNOBS_ENABLED,
    config_is,
    follow,
    fork,
    start_room,
)
from tests.browser.conftest import screenshot
from tests.browser.helpers import RECORDER, clear_recording, set_knob, wait_frame
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

EXPLODING = "gradients-relu-1.5"  # "Exploding gradients: relu, spectral radius 1.5, no clipping"
# The teacher's steps, as the "step ▶" button sends them, each after the last one's answer.
STEPS = "async (n) => { for (let i = 0; i < n; i++) await window.unroll.stream.request('advance') }"


def gradient_panel(page: Any, T: int) -> str:
    """What the gradient-through-time panel says once BPTT has reached t = 0 (charts and their
    captions are drawn once in view)."""
    page.locator("[data-view=gradients]").scroll_into_view_if_needed()
    page.wait_for_function(
        "(start) => document.querySelector('[data-view=gradients] .caption')"
        ".innerText.startsWith(start)",
        arg=f"From t = {T - 1} back to t = 0",
    )
    text: str = page.locator("[data-view=gradients] .caption").inner_text()
    return text


def test_the_teacher_picks_a_lesson_and_every_student_sees_the_same_panels(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1920, 1080)
    _, link = start_room(teacher, live_server.http)
    assert "token" not in teacher.url
    students = [follow(sized_page(1280, 720), link), follow(sized_page(1280, 720), link)]
    teacher.wait_for_function("document.querySelector('[data-role=students]').textContent === '2'")

    # Read-only: every knob shown but disabled, no transport, nothing that drives the run.
    for student in students:
        assert student.evaluate(KNOBS_DISABLED)
        assert student.locator("select[name=preset]").is_disabled()
        assert student.locator("[data-view=transport]").is_hidden()
        assert student.locator("button[data-command]:visible:enabled").count() == 0

    # The teacher picks the exploding-gradient lesson with the playground's own picker.
    teacher.select_option("select[name=preset]", EXPLODING)
    for page in (teacher, *students):
        config_is(page, activation="relu", spectral_radius=1.5, clip_mode="none")
    # Forward through the sequence and BPTT back, step by step, as a lesson goes.
    T = teacher.evaluate("window.unroll.state.get('config').seq_len")
    teacher.evaluate(STEPS, 2 * T)
    for page in (teacher, *students):
        wait_frame(page, "backward", where="f.t === 0")
    shown = gradient_panel(teacher, T)
    assert "explodes" in shown  # the lesson's point, on the teacher's screen
    for student in students:
        assert gradient_panel(student, T) == shown
        assert student.locator("select[name=preset]").input_value() == EXPLODING
        title = student.locator(".lesson-title").inner_text()
        assert title.startswith("Exploding gradients")
    teacher.evaluate(STEPS, 1)  # the update: a point on everyone's training curve
    for page in (teacher, *students):
        wait_frame(page, "update")
    trained = teacher.locator("[data-view=training] .stats").inner_text()
    for student in students:
        student.wait_for_function(
            "(text) => document.querySelector('[data-view=training] .stats').innerText === text",
            arg=trained,
        )
    screenshot(teacher, "classroom-teacher-exploding", full_page=False)
    screenshot(students[0], "classroom-student-exploding", full_page=False)

    # The teacher trains on, an iteration at a time: every student's training curve follows
    # (a student whose screen fell behind gets the curve's points again with the run's state).
    for _ in range(2):
        teacher.click("button[data-command=finish_iteration]")
    wait_frame(teacher, "update", count=3)
    for page in (teacher, *students):
        page.locator("[data-view=training]").scroll_into_view_if_needed()  # charts draw in view
    teacher.wait_for_function(
        "document.querySelector('[data-view=training] .stats')"
        ".innerText.startsWith('iteration\\n3')"
    )
    trained = teacher.locator("[data-view=training] .stats").inner_text()
    for student in students:
        student.wait_for_function(
            "(text) => document.querySelector('[data-view=training] .stats').innerText === text",
            arg=trained,
        )

    # A knob of the teacher's that changes the run as it trains reaches everyone, and a
    # student who comes late gets the lesson as it is now, settings included.
    set_knob(teacher, "select[name=clip_mode]", "norm")
    for page in (teacher, *students):
        config_is(page, clip_mode="norm")
        assert page.locator("select[name=clip_mode]").input_value() == "norm"
    late = follow(sized_page(1280, 720), link)
    config_is(late, activation="relu", spectral_radius=1.5, clip_mode="norm")
    late.locator("[data-view=training]").scroll_into_view_if_needed()
    late.wait_for_function(
        "(text) => document.querySelector('[data-view=training] .stats').innerText === text",
        arg=trained,
    )


def test_a_student_forks_a_playground_of_their_own_and_the_room_goes_on(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1280, 720)
    _, link = start_room(teacher, live_server.http)
    forker, follower = follow(sized_page(1280, 720), link), follow(sized_page(1280, 720), link)
    teacher.click("button[data-command=advance]")
    for page in (teacher, forker, follower):
        page.wait_for_selector(".unrolled .step.done[data-t='0']")

    fork(forker)
    assert forker.locator("[data-view=transport]").is_visible()
    assert forker.locator("[data-room=student] [data-role=leave]").is_visible()
    forker.wait_for_selector(".unrolled .step.done[data-t='0']")  # the copy kept the room's step
    forker.click("button[data-command=advance]")
    forker.wait_for_selector(".unrolled .step.done[data-t='1']")
    set_knob(forker, "input[name=hidden_size]", 5)  # a knob of their own
    config_is(forker, hidden_size=5)
    screenshot(forker, "classroom-student-forked", full_page=False)
    config_is(follower, hidden_size=3)
    assert follower.evaluate(KNOBS_DISABLED)

    teacher.click("button[data-command=advance]")
    follower.wait_for_selector(".unrolled .step.done[data-t='1']")
    config_is(forker, hidden_size=5)  # its own run, untouched

    # The teacher trains, then samples: the follower's curve and text are the teacher's.
    teacher.click("button[data-command=train]")
    wait_frame(follower, "progress", count=2)
    teacher.click("button[data-command=train]")  # "■ stop"
    teacher.evaluate("window.unroll.stream.request('pause')")  # answered once training stopped
    trained = teacher.evaluate("window.unroll.stream.last('progress').iteration")
    follower.wait_for_function(
        "(n) => window.unroll.stream.last('progress')?.iteration === n", arg=trained
    )
    assert follower.evaluate("window.__sent") == []  # a follower only watches
    for page in (teacher, follower):
        clear_recording(page)
    teacher.click("button[data-command=sample]")
    for page in (teacher, follower):
        wait_frame(page, "sample")
    text = teacher.locator("[data-role=sample-text]").inner_text()
    assert text
    assert follower.locator("[data-role=sample-text]").inner_text() == text
    assert follower.evaluate("window.__sent") == []

    # End room asks first: dismissed, nothing is sent and the room goes on.
    teacher.once("dialog", lambda dialog: dialog.dismiss())
    clear_recording(teacher)
    with teacher.expect_event("dialog") as asked:
        teacher.click("[data-role=end]")
    assert "End room" in asked.value.message
    assert not [c for c in teacher.evaluate("window.__sent") if c["type"] == "end_room"]
    # Accepted: the follower is told, politely, and stops reconnecting.
    teacher.once("dialog", lambda dialog: dialog.accept())
    teacher.click("[data-role=end]")
    follower.wait_for_selector("[data-room=student][data-mode=closed]")
    assert "ended room" in follower.locator("[data-role=room-message]").inner_text()
    follower.wait_for_selector(".badge[data-state=ended]")
    teacher.wait_for_selector("[data-room=teacher][data-state=closed]")
    assert forker.evaluate(KNOBS_ENABLED)  # the fork outlives the room
    clear_recording(forker)
    forker.click("button[data-command=advance]")
    forker.wait_for_function(
        "window.__frames.some((f) => f.type === 'forward' || f.type === 'sequence')"
    )


def test_the_teacher_rescales_w_hh_with_the_lab_s_slider_and_a_reload_keeps_the_room(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1280, 720)
    code, link = start_room(teacher, live_server.http)
    student = follow(sized_page(1280, 720), link)
    slider = "input[data-role=rescale]"
    assert student.locator(slider).is_disabled()
    set_knob(teacher, slider, 700)  # log scale: ρ = 0.1 · 50^0.7 ≈ 1.55
    for page in (teacher, student):
        wait_frame(page, "spectrum", where="Math.abs(f.spectral_radius - 1.55) < 0.01")
    assert student.locator("[data-role=rescale-value]").inner_text() == "1.55"

    # The teacher reloads, even with a playground link's run in the address: the page takes the
    # room back with the token this tab kept, and shows the room's run as it is (no restoring).
    teacher.goto(f"{live_server.http}/room/{code}/teach?cell=lstm&hidden_size=9")
    teacher.wait_for_selector("[data-room=teacher][data-role=teacher]")
    config_is(teacher, cell="rnn", hidden_size=3)
    assert teacher.locator("[data-role=code]").inner_text() == code
    teacher.wait_for_function("document.querySelector('[data-role=students]').textContent === '1'")
    teacher.wait_for_function(
        "Math.abs(window.unroll.stream.last('spectrum')?.spectral_radius - 1.55) < 0.01"
    )
    teacher.evaluate(RECORDER)
    config_is(student, cell="rnn", hidden_size=3)
    teacher.click("button[data-command=advance]")
    wait_frame(student, "forward", where="f.t === 0")  # its commands still drive the room
