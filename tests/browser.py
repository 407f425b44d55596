"""Playwright with Debian's Chromium, for browser tests of any feature.

Its fixtures (`browser`, `page_at`) are registered in tests/conftest.py (pytest_plugins);
a test module imports only the helpers:

    from tests.browser import DESKTOP, PHONE, PageAt, horizontal_overflow, screenshot

    @pytest.mark.browser
    def test_something(page_at: PageAt, live_server: str) -> None:
        page = page_at(PHONE, lark=True)          # a fresh context: its own cookies
        page.goto(f"{live_server}/lark/demo/")
        screenshot(page, "something-phone")       # tests/artifacts/something-phone.png
        assert not horizontal_overflow(page)
        assert small_targets(page) == []

Playwright never downloads a browser here: it drives /usr/bin/chromium (`make chromium`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from webapp.sandbox import seed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AXE = Path(__file__).resolve().parent.parent / "static" / "axe-core-4.14.1.min.js"

DESKTOP = {"width": 1280, "height": 800}  # the Lark PC workbench
PHONE = {"width": 390, "height": 844}  # the Lark mobile app on a common phone

PageAt = Callable[..., Page]


def _machine_clock() -> dict[str, str]:
    """Chromium's environment without libfaketime: when the suite runs under Debian's
    `faketime` (to prove it passes on another date), the browser keeps the machine's clock,
    as it does under time-machine, instead of a preloaded clock it cannot run with."""
    faked = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC", "DONT_FAKE_MONOTONIC")
    return {k: v for k, v in os.environ.items() if k not in faked}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, env=_machine_clock()
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page_at(browser: Browser) -> Iterator[PageAt]:
    """page_at(viewport, lark=False, locale="en-US"): a page in a fresh browser context.

    lark=True sends the Lark client's user agent (desktop or phone, after the viewport),
    as the sandbox's simulated Lark client does.
    """
    contexts = []

    def open_page(viewport: dict[str, int], lark: bool = False, locale: str = "en-US") -> Page:
        phone = viewport["width"] < 640
        options: dict[str, Any] = {"viewport": viewport, "locale": locale}
        if phone:
            options.update(is_mobile=True, has_touch=True)
        if lark:
            options["user_agent"] = seed.user_agent(phone, locale.replace("-", "_"))
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def same_origin(page: Page, path: str) -> str:
    """An absolute URL on the page's own origin (the CSP allows only our own scripts)."""
    from urllib.parse import urljoin

    return urljoin(page.url, path)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save tests/artifacts/<name>.png (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in_at_login(page: Page, base: str, persona: Any) -> Page:
    """Sign `persona` (tests.factories.Persona) in through the /login form, as a person would."""
    page.goto(f"{base}/login")
    page.fill("input[name=email]", persona.member.email)
    page.fill("input[name=password]", persona.password)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_load_state()
    return page


def tour_dir() -> Path:
    """Where the product tour's screenshots go: docs/tour only when TOUR_DIR asks for it
    (`TOUR_DIR=docs/tour make pytest-sqlite`), so a plain test run leaves git's files alone;
    else tests/artifacts/tour (git-ignored)."""
    folder = Path(os.environ["TOUR_DIR"]) if os.environ.get("TOUR_DIR") else ARTIFACTS / "tour"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits the viewport)."""
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


_SMALL_TARGETS_JS = """([minimum, within]) => {
  const controls = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  const roots = [...document.querySelectorAll(within)];
  const found = roots.flatMap((root) => [...root.querySelectorAll(controls)]);
  return found.filter((el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden') return false;
    if (el.closest('.skip-link')) return false;
    const closed = el.closest('details:not([open])');
    if (closed && el.tagName !== 'SUMMARY') return false;  // hidden in a closed menu
    return box.height < minimum || box.width < minimum;
  }).map((el) => `${el.tagName.toLowerCase()} "${(el.textContent || el.name || '').trim()}"`
    + ` ${Math.round(el.getBoundingClientRect().width)}x`
    + `${Math.round(el.getBoundingClientRect().height)}`);
}"""


def small_targets(page: Page, minimum: int = 44, within: str = "body") -> list[str]:
    """Visible controls smaller than minimum x minimum CSS pixels (touch target rule),
    inside the elements matching the CSS selector `within`."""
    found: list[str] = page.evaluate(_SMALL_TARGETS_JS, [minimum, within])
    return found


def axe_violations(page: Page, within: str | None = None) -> list[str]:
    """Serious and critical axe-core findings, on the page or inside the CSS selector `within`."""
    page.add_script_tag(url=same_origin(page, "/static/" + AXE.name))  # CSP: no inline
    found: list[dict[str, Any]] = page.evaluate(
        """async (within) => (await axe.run(
             within ? {include: [...document.querySelectorAll(within)]} : document,
             {resultTypes: ['violations']})).violations""",
        within,
    )
    return [f"{v['id']}: {v['help']}" for v in found if v.get("impact") in ("serious", "critical")]
