"""The class comes back to the front, in real Chromium: the join address a phone can open (or
why not), a fork that survives a reload, the class view with its spotlight, lock and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.classroom_pages import KNOBS_DISABLED, config_is, follow, fork, start_room
from tests.browser.conftest import screenshot
from tests.browser.helpers import set_knob, wait_frame
from tests.browser.pages import SMALL_TARGETS, SMALL_TEXT
from tests.browser.test_accessibility import violations
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_a_loopback_teacher_page_offers_a_link_phones_can_open_or_says_why_not(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1920, 1080)
    start_room(teacher, live_server.http)  # at 127.0.0.1, as a laptop's browser is
    room = teacher.evaluate("window.unroll.stream.last('room')")  # what the page was told
    link = teacher.locator("[data-role=link]").get_attribute("href")
    host = urlsplit(link).hostname
    assert host is not None
    loopback = host == "localhost" or ip_address(host).is_loopback
    hint = teacher.locator("[data-role=hint]")
    if loopback:  # no address a phone could use: the page says so, and how to fix it
        assert hint.is_visible()
        text = hint.inner_text()
        assert "UNROLL_PUBLIC_URL" in text and "0.0.0.0" in text
        box = hint.bounding_box()
        assert box is not None and box["y"] < 1080  # prominent: on the first screen
    else:  # a LAN address: the QR code and the link carry it
        assert room["join_url"] == link
        assert teacher.locator("img.qr").get_attribute("alt").endswith(link)
    screenshot(teacher, "classroom-teacher-join", full_page=False)


def test_a_student_s_fork_survives_a_reload(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1280, 720)
    code, link = start_room(teacher, live_server.http)
    student = follow(sized_page(1280, 720), link)
    fork(student, "Ada")
    assert "Ada" in student.locator("[data-role=state]").inner_text()
    kept = student.evaluate(f"JSON.parse(localStorage.getItem('unroll-fork-{code}'))")
    assert kept["fork_id"] and kept["secret"]
    set_knob(student, "input[name=hidden_size]", 5)  # the copy is theirs: a knob of their own
    config_is(student, hidden_size=5)
    student.click("button[data-command=advance]")
    student.wait_for_selector(".unrolled .step.done[data-t='0']")

    # A dropped connection (Wi-Fi): the page reconnects and asks for its copy back.
    student.evaluate("window.__sent.length = 0; window.unroll.stream.socket.close()")
    student.wait_for_function("window.__sent.some((c) => c.type === 'resume_fork')")
    student.wait_for_selector("[data-room=student][data-mode=forked]")
    config_is(student, hidden_size=5)

    student.reload()
    student.wait_for_selector("[data-room=student][data-mode=forked]")
    config_is(student, hidden_size=5)  # the same copy, not the teacher's run (hidden size 3)
    student.wait_for_selector(".unrolled .step.done[data-t='0']")  # where it was
    assert "Ada" in student.locator("[data-role=state]").inner_text()
    assert student.locator("[data-view=transport]").is_visible()
    config_is(teacher, hidden_size=3)

    # The same copy opened in a second tab: it moves there; the first tab lets it go quietly.
    second = student.context.new_page()
    second.goto(link)
    second.wait_for_selector("[data-room=student][data-mode=forked]")
    config_is(second, hidden_size=5)
    student.wait_for_selector("[data-room=student][data-mode=closed]")
    assert "another tab" in student.locator("[data-role=room-message]").inner_text()
    student.wait_for_selector(".badge[data-state=ended]")  # no reconnecting to take it back
    second.close()
    student.reload()  # taken back here
    student.wait_for_selector("[data-room=student][data-mode=forked]")
    config_is(student, hidden_size=5)

    # Back to the class: the copy is let go, the page follows the room again, read-only.
    student.click("[data-role=leave]")
    student.wait_for_selector("[data-room=student][data-mode=following]")
    config_is(student, hidden_size=3)
    assert student.evaluate(KNOBS_DISABLED)
    assert student.evaluate(f"localStorage.getItem('unroll-fork-{code}')") is None


def test_the_class_view_lists_the_forks_shows_one_to_everyone_and_is_projected(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1920, 1080)
    _, link = start_room(teacher, live_server.http)
    ada, anonymous = follow(sized_page(1280, 720), link), follow(sized_page(1280, 720), link)
    watcher = follow(sized_page(1280, 720), link)
    fork(ada, "Ada")
    fork(anonymous)
    set_knob(ada, "input[name=hidden_size]", 5)
    config_is(ada, hidden_size=5)
    ada.click("button[data-command=finish_iteration]")
    wait_frame(ada, "update")

    rows = teacher.locator(".class-table tbody tr")
    teacher.wait_for_function("document.querySelectorAll('.class-table tbody tr').length === 2")
    names = rows.locator("th").all_inner_texts()
    assert "Ada" in names and any(name.startswith("Student") for name in names)
    ada_row = teacher.locator(".class-table tbody tr", has_text="Ada")
    teacher.wait_for_function(
        "[...document.querySelectorAll('.class-table tbody tr')].some((tr) => "
        "tr.textContent.includes('Ada') && "
        "tr.querySelector('[data-col=changed]').textContent.includes('hidden size'))"
    )
    assert ada_row.locator("[data-col=model]").inner_text().endswith("· 5")
    teacher.wait_for_function(
        "[...document.querySelectorAll('.class-table tbody tr')].some((tr) => "
        "tr.textContent.includes('Ada') && "
        "tr.querySelector('[data-col=iteration]').textContent === '1')"
    )
    teacher.locator("#class").scroll_into_view_if_needed()
    teacher.wait_for_function("document.querySelector('[data-role=class-plot]')._fullLayout")
    screenshot(teacher, "classroom-class-view", full_page=False)

    # "Show everyone": Ada's run on every screen that follows the room.
    ada_row.locator("button.show").click()
    watcher.wait_for_selector("[data-role=spotlight]:not([hidden])")
    assert "Ada" in watcher.locator("[data-role=spotlight]").inner_text()
    config_is(watcher, hidden_size=5)
    assert watcher.evaluate(KNOBS_DISABLED)
    teacher.wait_for_selector("[data-room=teacher] [data-role=spotlight]:not([hidden])")
    assert ada_row.locator("button.show").get_attribute("aria-pressed") == "true"
    screenshot(watcher, "classroom-student-spotlight", full_page=False)

    teacher.click("[data-role=unspotlight]")  # back to the teacher's own run
    watcher.wait_for_selector("[data-role=spotlight]", state="hidden")
    config_is(watcher, hidden_size=3)

    # The teacher locks forking: a student's fork button says so; unlocked, it works again.
    teacher.click("[data-role=lock]")
    watcher.wait_for_selector("[data-role=locked]:not([hidden])")
    assert watcher.locator("[data-role=fork]").is_disabled()
    assert teacher.locator("[data-role=lock]").get_attribute("aria-pressed") == "true"
    for page in (teacher, watcher, ada):  # the class view, the lock's note, a forked playground
        assert violations(page) == []
    teacher.click("[data-role=lock]")
    watcher.wait_for_selector("[data-role=locked]", state="hidden")
    assert watcher.locator("[data-role=fork]").is_enabled()

    # The class's results as a CSV file, one row per fork.
    with teacher.expect_download() as download:
        teacher.click("[data-role=csv]")
    assert download.value.suggested_filename.endswith("-class.csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["name"] for row in table) == sorted(names)

    # Projected: presenter mode draws no text under 20 px, class view included.
    teacher.click("button[data-command=finish_iteration]")  # every view has numbers to show
    wait_frame(teacher, "update")
    teacher.click("[data-action=presenter]")
    teacher.wait_for_function("document.body.classList.contains('presenter')")
    height = teacher.evaluate("document.documentElement.scrollHeight")
    teacher.set_viewport_size({"width": 1920, "height": height})  # charts draw once in view
    teacher.wait_for_function(
        "[...document.querySelectorAll('.plot')].filter((p) => p.offsetParent !== null)"
        ".every((p) => p._fullLayout)"
    )
    teacher.wait_for_function("window.unroll.frameStats.pending === 0")
    assert teacher.evaluate(SMALL_TEXT, 20) == []
    assert teacher.evaluate(FITS)
    assert violations(teacher) == []
    teacher.set_viewport_size({"width": 1920, "height": 1080})
    teacher.evaluate("window.scrollTo(0, 0)")
    screenshot(teacher, "classroom-teacher-presenter", full_page=False)

    # Once the class has joined, a one-line join card leaves the projector to the run.
    teacher.click("[data-role=compact]")
    assert teacher.locator("img.qr").is_hidden()
    assert teacher.locator("[data-role=code]").is_visible()
    network = teacher.locator("[data-area=network]").bounding_box()
    assert network is not None and network["y"] < 1080 / 2
    screenshot(teacher, "classroom-teacher-presenter-compact", full_page=False)


def test_a_phone_joins_forks_with_a_nickname_and_drives_its_copy(
    sized_page: Callable[..., Any], live_server: LiveServer
) -> None:
    teacher = sized_page(1280, 720)
    _, link = start_room(teacher, live_server.http)
    lobby = sized_page(390, 844)
    lobby.goto(live_server.http + "/room")
    assert lobby.evaluate(FITS) and lobby.evaluate(SMALL_TARGETS) == []
    box = lobby.locator("button[type=submit]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # the Join button is not cut off
    phone = follow(sized_page(390, 844), link)
    assert phone.evaluate(FITS), phone.evaluate("document.documentElement.scrollWidth")
    assert phone.evaluate(SMALL_TARGETS) == []
    screenshot(phone, "classroom-phone-following", full_page=False)
    fork(phone, "Bo")
    phone.click("button[data-command=advance]")
    phone.wait_for_selector(".unrolled .step.done[data-t='0']")
    assert phone.evaluate(FITS), phone.evaluate("document.documentElement.scrollWidth")
    assert phone.evaluate(SMALL_TARGETS) == []
    screenshot(phone, "classroom-phone-forked", full_page=False)
