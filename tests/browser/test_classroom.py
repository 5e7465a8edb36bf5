"""Classroom mode in real Chromium: a teacher's page and two students' pages on one real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def open_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[[], Any]]:
    """Pages like the `page` fixture's (1280×720, failing on console errors), one per person."""
    opened: list[tuple[Any, list[str]]] = []

    def open_one() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        opened.append((context, errors))
        return page

    yield open_one
    for context, errors in opened:
        context.close()
        assert not errors, f"console errors: {errors}"


def test_a_teacher_projects_a_run_students_follow_it_and_one_forks(
    open_page: Callable[[], Any], live_server: LiveServer
) -> None:
    teacher = open_page()
    teacher.goto(live_server.http + "/room")
    teacher.click("[data-role=create]")
    teacher.wait_for_url("**/teach")  # the token has left the address bar
    assert "token" not in teacher.url
    teacher.wait_for_selector("[data-room=teacher][data-role=teacher]")  # joined with the token
    code = teacher.locator("[data-role=code]").inner_text()
    link = teacher.locator("[data-role=link]").get_attribute("href")
    assert link == f"{live_server.http}/room/{code}"
    assert teacher.locator("img.qr").evaluate("img => img.complete && img.naturalWidth > 0")

    students = [open_page(), open_page()]
    for student in students:
        student.goto(link)
        student.wait_for_selector("[data-room=student][data-mode=following]")
        student.wait_for_selector(".unrolled .step[data-t='3']")
    teacher.wait_for_function("document.querySelector('[data-role=students]').textContent === '2'")
    assert teacher.locator("[data-role=students-label]").inner_text() == "students"

    # The teacher steps; every student sees the same steps.
    for t in range(2):
        teacher.click("button[data-command=step_forward]")
        for page in [teacher, *students]:
            page.wait_for_selector(f".unrolled .step.done[data-t='{t}']")
    for student in students:
        assert student.locator("[data-command]:visible").count() == 0  # read-only
    loss = teacher.locator("[data-view=step-loss] .equation").inner_text()
    for student in students:
        assert student.locator("[data-view=step-loss] .equation").inner_text() == loss

    # The projector at 1280×720: what the room sees without scrolling.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    teacher.screenshot(path=str(ARTIFACTS / "classroom-teacher-projector.png"))
    screenshot(students[0], "classroom-student-following")
    box = teacher.locator("[data-role=code]").bounding_box()
    assert box is not None and box["y"] + box["height"] < 720 and box["height"] >= 60
    qr = teacher.locator("img.qr").bounding_box()
    assert qr is not None and qr["width"] >= 150 and qr["y"] + qr["height"] < 720
    count = teacher.locator("[data-role=students]").bounding_box()
    assert count is not None and count["y"] + count["height"] < 720

    # A student forks: the controls are theirs, the teacher's run and the other student go on.
    forker, follower = students
    forker.click("[data-role=fork]")
    forker.wait_for_selector("[data-room=student][data-mode=forked]")
    forker.wait_for_selector("[data-role=controls]:not([hidden])")
    forker.wait_for_selector(".unrolled .step.done[data-t='1']")  # the fork kept the room's steps
    forker.click("button[data-command=step_forward]")
    forker.wait_for_selector(".unrolled .step.done[data-t='2']")
    screenshot(forker, "classroom-student-forked")
    teacher.wait_for_function("document.querySelector('[data-role=students]').textContent === '1'")
    for page in (teacher, follower):
        assert page.locator(".unrolled .step.done").count() == 2
    teacher.click("button[data-command=step_forward]")
    follower.wait_for_selector(".unrolled .step.done[data-t='2']")
    assert forker.locator(".unrolled .step.done").count() == 3  # its own run, untouched

    # The teacher ends the room: the follower is told, politely, and stops reconnecting.
    teacher.click("[data-role=end]")
    follower.wait_for_selector("[data-room=student][data-mode=closed]")
    assert "ended room" in follower.locator("[data-role=room-message]").inner_text()
    follower.wait_for_selector(".badge[data-state=ended]")
    teacher.wait_for_selector("[data-room=teacher][data-state=closed]")
    screenshot(follower, "classroom-student-room-ended")
    screenshot(teacher, "classroom-teacher-ended")
    forker.click("button[data-command=step_forward]")  # the fork outlives the room
    forker.wait_for_selector(".unrolled .step.done[data-t='3']")
