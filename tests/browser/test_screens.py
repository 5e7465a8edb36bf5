"""Every screen: a 390 px phone, a projector in presenter mode, reduced motion, hidden panels."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.browser.helpers import open_playground, shoot, wait_frame
from tests.browser.pages import SMALL_TARGETS, SMALL_TEXT, open_page, settle_charts
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

PHONE = (390, 844)
PAGES = ["/", "/lessons", "/lessons?card=5", "/lessons?card=8", "/gallery", "/lab", "/lab?ab=1"]
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("path", [*PAGES, "/room"])
def test_every_page_fits_a_phone_with_targets_a_finger_can_hit(
    sized_page: Any, live_server: LiveServer, path: str
) -> None:
    page = sized_page(*PHONE)
    open_page(page, live_server.http, path)
    assert page.evaluate(FITS), page.evaluate("document.documentElement.scrollWidth")
    assert page.evaluate(SMALL_TARGETS) == []


def test_the_room_pages_fit_a_phone(sized_page: Any, live_server: LiveServer) -> None:
    teacher = sized_page(*PHONE)
    teacher.goto(live_server.http + "/room")
    teacher.click("[data-role=create]")
    teacher.wait_for_selector("[data-room=teacher][data-role=teacher]")
    link = teacher.locator("[data-role=link]").get_attribute("href")
    student = sized_page(*PHONE)
    student.goto(link)
    student.wait_for_selector("[data-room=student][data-mode=following]")
    for page in (teacher, student):
        assert page.evaluate(FITS)
        assert page.evaluate(SMALL_TARGETS) == []


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 768)])
def test_presenter_mode_draws_no_text_under_20_px(
    sized_page: Any, live_server: LiveServer, size: tuple[int, int]
) -> None:
    page = sized_page(*size)
    open_playground(page, live_server.http, "?presenter=1")
    page.click("button[data-command=finish_iteration]")  # every view has numbers to show
    page.click("button[data-command=finish_iteration]")
    wait_frame(page, "update", count=2)
    for t in range(3):
        page.click("button[data-command=advance]")
        wait_frame(page, "forward", where=f"f.t === {t} && f.iteration === 2")
    # Charts out of view wait to be drawn: show the whole page at once.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": size[0], "height": height})
    settle_charts(page)
    assert page.evaluate(SMALL_TEXT, 20) == []
    assert page.evaluate(FITS)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    shoot(page, f"presenter-{size[0]}")


def test_the_lobby_projects_in_presenter_mode(sized_page: Any, live_server: LiveServer) -> None:
    page = sized_page(1920, 1080)
    open_page(page, live_server.http, "/room")
    assert page.evaluate(SMALL_TEXT, 20) != []  # the lobby's own type is smaller
    page.keyboard.press("f")  # as on every page with presenter mode
    page.wait_for_selector("body.presenter")
    assert page.get_attribute("[data-action=presenter]", "aria-pressed") == "true"
    assert "presenter=1" in page.url  # a reload or a shared link keeps it
    assert page.evaluate(SMALL_TEXT, 20) == []
    assert page.evaluate(FITS)
    screenshot(page, "lobby-presenter-1920")  # no run on this page to settle


def test_reduced_motion_turns_transitions_off(sized_page: Any, live_server: LiveServer) -> None:
    page = sized_page(1280, 720, reduced_motion="reduce")
    open_playground(page, live_server.http)
    durations = page.evaluate(
        """[".unrolled .step", ".unrolled .grad", ".prob-bars"].map((s) => {
          const el = document.querySelector(s);
          return el ? getComputedStyle(el).transitionDuration : "0s";
        })"""
    )
    assert set(", ".join(durations).split(", ")) == {"0s"}
    page.keyboard.press("ArrowRight")  # the speed knob sets --step-ms; reduced motion wins
    assert page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--step-ms')")


@pytest.mark.parametrize(
    "hide",
    ["controls", "controls,training,sample", "network", "outputs,loss", "transport,lesson", "io"],
)
def test_hiding_panels_keeps_the_layout(
    sized_page: Any, live_server: LiveServer, hide: str
) -> None:
    page = sized_page(1280, 800)
    page.goto(f"{live_server.http}/?hide={hide}")
    page.wait_for_function("window.unroll && window.unroll.state.get('settled') === true")
    widths = page.evaluate(
        """() => {
          const views = document.querySelector('.views').getBoundingClientRect().width;
          const panels = [...document.querySelectorAll('.views .panel')]
            .filter((p) => p.offsetParent !== null)
            .map((p) => p.getBoundingClientRect().width);
          return { views, main: document.querySelector('main').clientWidth, panels };
        }"""
    )
    assert page.evaluate(FITS)
    if "controls" in hide:  # the run takes the whole width
        assert widths["views"] > widths["main"] - 40
    else:
        assert widths["views"] > widths["main"] - 330
    assert min(widths["panels"]) > 300  # no panel squeezed into a sliver
    for area in hide.split(","):
        assert page.locator(f"[data-area={area}]").first.is_hidden()


def test_every_lesson_card_s_equations_fit_their_box(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.http}/lessons?card=1")
    page.wait_for_selector(".topbar .badge[data-state=open]")
    clipped = page.evaluate(
        """[...document.querySelectorAll('article[data-card]')].flatMap((card) => {
             card.hidden = false; // each card in turn, as the page shows it
             const wide = [...card.querySelectorAll('.equation-box')]
               .filter((box) => box.scrollWidth > box.clientWidth + 1)
               .map(() => card.dataset.card);
             card.hidden = true;
             return wide;
           })"""
    )
    assert clipped == []
