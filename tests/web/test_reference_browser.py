"""The API reference in real Chromium with every non-local request blocked: /docs (Swagger UI)
lists the operations and /redoc renders, from the package's own assets, with no Content-Security
-Policy violation. Saves docs/screenshots/api-docs.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, expect

from meetbridge.app import create_app
from meetbridge.container import Container
from tests.support import LiveServer
from tests.web.test_browser import SHOTS

pytestmark = pytest.mark.browser


@pytest.fixture
def offline_page(browser: Browser, container: Container) -> Iterator[tuple[Page, str, list[str]]]:
    with LiveServer(create_app(container)) as server:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        outside: list[str] = []

        def only_local(route: Route) -> None:
            if route.request.url.startswith(server.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        problems: list[str] = outside

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error" or "Content Security Policy" in msg.text:
                problems.append(msg.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        yield page, server.url, problems
        context.close()


def test_swagger_ui_works_offline_under_the_csp(
    offline_page: tuple[Page, str, list[str]], database_url: str
) -> None:
    page, base, problems = offline_page
    page.goto(f"{base}/docs")
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/meetings").first).to_be_visible(
        timeout=15_000
    )
    assert page.locator(".opblock").count() >= 12
    if database_url.startswith("sqlite"):  # the first screen, not the 7000-pixel page
        page.screenshot(path=str(SHOTS / "api-docs.png"))
    page.locator(".opblock-summary", has_text="/api/v1/me").first.click()
    expect(page.get_by_text("Try it out").first).to_be_visible()
    assert problems == []


def test_redoc_works_offline(offline_page: tuple[Page, str, list[str]]) -> None:
    page, base, problems = offline_page
    page.goto(f"{base}/redoc")
    expect(page.get_by_role("heading", name="meetbridge").first).to_be_visible(timeout=15_000)
    expect(page.get_by_text("/api/v1/meetings").first).to_be_attached()
    # ReDoc's "API docs by Redocly" footer links a logo on its CDN: the CSP stops it, as wanted.
    assert [p for p in problems if "cdn.redoc.ly/redoc/logo-mini.svg" not in p] == []
