"""Every page runs under its Content-Security-Policy, and the policy is enforced, not decorative."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

# Each page, and what shows once its scripts have run and its socket is open.
PAGES = {
    "/": ".unrolled .step[data-t='0']",
    "/lab": ".topbar .badge[data-state=open]",
    "/gallery": ".topbar .badge[data-state=open]",
    "/lessons": ".topbar .badge[data-state=open]",
    "/room": "[data-role=create]",
}


def test_every_page_loads_under_its_policy(page: Any, live_server: LiveServer) -> None:
    for path, drawn in PAGES.items():
        response = page.goto(live_server.http + path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy, path
        page.wait_for_selector(drawn)  # its scripts ran; the fixture fails on any console error


def test_the_policy_refuses_inline_scripts_and_handlers(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.http + "/room")
    page.wait_for_selector("[data-role=create]")
    inline = page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.injected = true";
          document.body.appendChild(script);
          return window.injected === true;
        }"""
    )
    assert inline is False
    page.evaluate(
        """() => {
          const button = document.createElement("button");
          button.id = "inline-handler";
          button.setAttribute("onclick", "window.clicked = true");
          document.body.appendChild(button);
        }"""
    )
    page.click("#inline-handler")
    assert page.evaluate("window.clicked === undefined")
    errors = list(page.console_errors)
    assert len(errors) == 2 and all("Content Security Policy" in e for e in errors), errors
    page.console_errors.clear()  # the refusals this test caused on purpose
