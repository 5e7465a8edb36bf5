"""Driving the room pages from tests: a teacher's room, students following it, forks."""

from __future__ import annotations

import json
from typing import Any

from tests.browser.helpers import RECORDER

KNOBS_DISABLED = "[...document.querySelectorAll('[data-role=knobs]')].every((f) => f.disabled)"
KNOBS_ENABLED = "[...document.querySelectorAll('[data-role=knobs]')].every((f) => !f.disabled)"


def start_room(teacher: Any, base: str) -> tuple[str, str]:
    """Start a room from the lobby and wait until the page is its teacher; (code, join link)."""
    teacher.goto(base + "/room")
    teacher.click("[data-role=create]")
    teacher.wait_for_selector("[data-room=teacher][data-role=teacher]")  # joined with the token
    teacher.wait_for_selector(".unrolled .step[data-t='0']")
    teacher.wait_for_function("window.unroll.state.get('settled') === true")
    teacher.evaluate(RECORDER)
    code = teacher.locator("[data-role=code]").inner_text()
    return code, f"{base}/room/{code}"


def follow(student: Any, link: str) -> Any:
    """Open a room's student page and wait until it follows the teacher's run."""
    student.goto(link)
    student.wait_for_selector("[data-room=student][data-mode=following]")
    student.wait_for_selector(".unrolled .step[data-t='0']")
    student.evaluate(RECORDER)
    return student


def config_is(page: Any, **fields: object) -> None:
    """Wait until the run a page shows has these config values."""
    checks = " && ".join(f"c.{name} === {json.dumps(value)}" for name, value in fields.items())
    page.wait_for_function(
        f"(() => {{ const c = window.unroll.state.get('config'); return c && {checks}; }})()"
    )


def fork(student: Any, nickname: str = "") -> None:
    """Fork the room's run from a student's page; wait until the copy is theirs."""
    if nickname:
        student.fill("input[name=nickname]", nickname)
    student.click("[data-role=fork]")
    student.wait_for_selector("[data-room=student][data-mode=forked]")
    student.wait_for_function(KNOBS_ENABLED)
