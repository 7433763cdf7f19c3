"""Connecting Zoom clicked through in Chromium against the sandbox: connect, disconnect, and
removal from the sandbox's "Added Apps" page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import PASSWORD
from tests.support import SmtpServer
from tests.web.test_browser import _shot
from tests.zoom_env import ZoomEnv, zoom_env

pytestmark = pytest.mark.browser


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        yield e


def _sign_in(page: Page, env: ZoomEnv, email: str) -> None:
    page.goto(f"{env.product}/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{env.product}/team")


def test_connect_disconnect_and_remove_in_zoom(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "ann@acme.test")
    card = page.locator(".member", has_text="Ann")
    expect(card).to_contain_text("Zoom: not connected")
    card.get_by_role("button", name="Connect Zoom").click()

    # On Zoom (the sandbox): sign in, then the consent page lists the scopes.
    page.get_by_label("Email").fill("maria@zoom-sandbox.test")
    page.get_by_label("Password").fill("sandbox-password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.locator("ul.scopes")).to_contain_text("meeting:write")
    _shot(page, "zoom-consent", database_url)
    page.get_by_role("button", name="Allow").click()

    expect(page).to_have_url(f"{env.product}/integrations/zoom")
    expect(page.get_by_role("status")).to_contain_text(
        "Zoom is connected as maria@zoom-sandbox.test"
    )
    expect(page.locator("#my-zoom")).to_contain_text("Connected")
    _shot(page, "integrations-zoom", database_url)

    page.goto(f"{env.product}/team")
    expect(page.locator(".member", has_text="Ann")).to_contain_text("Zoom connected")
    page.get_by_role("link", name="Disconnect Zoom").click()
    expect(page.get_by_role("heading", name="Disconnect Zoom?")).to_be_visible()
    _shot(page, "zoom-disconnect", database_url)
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_role("status")).to_contain_text("Zoom is disconnected")
    expect(page.locator("#my-zoom")).to_contain_text("Not connected")

    # Connect again, then remove the app on Zoom's side.
    page.get_by_role("button", name="Connect Zoom").click()
    page.get_by_role("button", name="Allow").click()  # still signed in to Zoom
    expect(page.locator("#my-zoom")).to_contain_text("Connected")
    page.goto(f"{env.zoom}/marketplace/user/installed")
    expect(page.get_by_role("heading", name="Added Apps")).to_be_visible()
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("The app was removed")
    env.control("POST", "/webhooks/flush")
    deadline = time.monotonic() + 10
    while True:
        page.goto(f"{env.product}/integrations/zoom")
        if "was removed from your Zoom account" in page.content():
            break
        assert time.monotonic() < deadline, "meetbridge did not hear of the removal"
        time.sleep(0.2)
    expect(page.locator("#my-zoom")).to_contain_text("Connect Zoom")
    context.close()


def test_admin_tests_and_saves_the_zoom_account(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 1100})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(f"{env.product}/integrations/zoom")
    form = page.locator("#account-zoom")
    form.get_by_label("Account ID").fill("mbDemoAccount01")
    form.get_by_label("Client ID").fill("mbDemoS2SApp")
    form.get_by_label("Client Secret").fill("wrong")
    form.get_by_role("button", name="Test Zoom").click()
    expect(page.get_by_role("alert")).to_contain_text("refused the Client ID or Client Secret")
    form = page.locator("#account-zoom")
    expect(form.get_by_label("Account ID")).to_have_value("mbDemoAccount01")
    form.get_by_label("Client Secret").fill("mb-demo-s2s-app-secret-0123456789")
    form.get_by_role("button", name="Test Zoom").click()
    expect(page.get_by_role("status")).to_contain_text("Zoom works")
    expect(page.locator("#account-zoom")).to_contain_text("mbDemoAccount01")
    _shot(page, "integrations-zoom-admin", database_url)
    context.close()
