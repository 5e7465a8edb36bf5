"""A page whose run waits on a busy server says so, and says when it goes on."""

from __future__ import annotations

from typing import Any

import pytest

from app.web.settings import Settings
from tests.browser.helpers import open_playground


@pytest.fixture
def settings() -> Settings:
    """A server whose clients may use a twentieth of a core once their first half second is up."""
    return Settings(
        max_commands_per_second=1000,
        workers=1,
        heavy_workers=1,
        heavy_nice=0,
        client_cpu_share=0.05,
        client_cpu_burst_seconds=0.5,
    )


def test_the_badge_shows_a_run_waiting_for_its_share_then_live_again(
    page: Any, live_server: Any
) -> None:
    open_playground(page, live_server.http, "?preset=text")
    page.evaluate("window.unroll.stream.request('train', { iterations: 5000 })")
    badge = page.locator(".topbar .badge")
    # Read the badge in the same instant it shows the wait: the share comes back within a second.
    queued = page.wait_for_function(
        """() => {
          const b = document.querySelector('.topbar .badge');
          return b.dataset.state === 'queued' && { text: b.innerText, title: b.title };
        }"""
    ).json_value()
    assert queued["text"].startswith("waiting ")
    assert "share of the server" in queued["title"]
    page.evaluate("window.unroll.stream.request('pause')")
    page.wait_for_selector(".topbar .badge[data-state=open]")
    assert badge.inner_text() == "live"
