"""Playwright driving Debian's Chromium (its own browser downloads do not work offline)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    path = os.environ.get("UNROLL_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is needed for browser tests: apt-get install chromium")
    return path


def wait_under_csp(
    page: Any, expression: str, *, arg: Any = None, timeout: float | None = None, **_: Any
) -> Any:
    """Page.wait_for_function, but with the predicate compiled by DevTools, not the page.

    Playwright's own compiles its predicate with the page's eval, which every page's policy
    (script-src 'self') rightly forbids. DevTools evaluation is not governed by the policy, so
    the pages run exactly as they ship. Polls once per animation frame, like Playwright's.
    """
    from playwright.sync_api import Error

    limit = 30_000 if timeout is None else timeout or float("inf")
    script = f"""async (arg) => {{
      const deadline = performance.now() + {json.dumps(min(limit, 1e12))};
      for (;;) {{
        const value = (
{expression}
        );
        const result = typeof value === "function" ? value(arg) : value;
        if (result) return result;
        if (performance.now() > deadline) throw new Error("timed out waiting for the page");
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }}
    }}"""
    deadline = time.monotonic() + limit / 1000
    while True:
        try:
            return page.evaluate_handle(script, arg)
        except Error as exc:  # the page navigated meanwhile: wait on the new one
            if "context was destroyed" not in str(exc) or time.monotonic() > deadline:
                raise


@pytest.fixture(scope="session", autouse=True)
def waits_under_csp() -> Iterator[None]:
    """Every page's wait_for_function is wait_under_csp (see there why)."""
    from playwright.sync_api import Page

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Page, "wait_for_function", wait_under_csp)
        yield


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, live_server: object) -> Iterator[object]:
    """A fresh page that records console errors; the test fails if any appear."""
    # Set up after the live server, so closed before it stops: a page left open would try to
    # reconnect to a port nobody listens on any more, and log that as an error.
    context = browser.new_context(viewport={"width": 1280, "height": 720})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def sized_page(browser: Any, live_server: object) -> Iterator[Callable[..., Any]]:
    """A page of a given viewport (and media features), failing the test on console errors."""
    opened: list[tuple[Any, list[str]]] = []

    def open_one(width: int, height: int, **options: Any) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
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


def screenshot(page: object, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot as a test artifact under artifacts/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
    return path
