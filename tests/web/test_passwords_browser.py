"""Forgot password and first passwords in real Chromium: the link arrives by e-mail (the real
SMTP server), opens a page to choose a password, works once, and signs the user out elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.accounts.demo import ensure_demo
from meetbridge.app import create_app
from meetbridge.container import Container
from tests.conftest import PASSWORD
from tests.support import LiveServer, SmtpServer
from tests.web.test_browser import _shot, _sign_in

pytestmark = pytest.mark.browser
NEW = "lantern-orchard-copper"


@pytest.fixture
def live_url(container: Container) -> Iterator[str]:
    with LiveServer(create_app(container)) as server:
        yield server.url


def _link(smtp: SmtpServer, to: str, n: int) -> str:
    body = smtp.inbox.wait_for(to, n)[-1].get_body(("plain",))
    assert body is not None
    found = re.search(r"http://\S+/password/set\?token=\S+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


def _choose(page: Page, link: str, base: str, password: str) -> None:
    page.goto(link.replace("http://testserver", base))
    page.get_by_label("New password").fill(password)
    page.get_by_role("button", name="Set password").click()


def test_forgot_password_then_a_first_password_from_the_welcome_email(
    browser: Browser, live_url: str, container: Container, smtp: SmtpServer, database_url: str
) -> None:
    ensure_demo(container.accounts, PASSWORD)
    page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    page.goto(f"{live_url}/signin")
    page.get_by_role("link", name="Forgot password?").click()
    page.get_by_label("E-mail").fill("maria@demo.test")
    _shot(page, "password-forgot", database_url)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("If maria@demo.test has a meetbridge login")
    link = _link(smtp, "maria@demo.test", 2)  # after her welcome e-mail

    _choose(page, link, live_url, "qwerty1234")
    expect(page.locator(".error").first).to_contain_text("is too easy to guess")
    _shot(page, "password-set", database_url)
    page.get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is set")
    _sign_in(page, live_url, "maria@demo.test", NEW)

    page.goto(link.replace("http://testserver", live_url))  # a second use
    expect(page.get_by_role("alert")).to_contain_text("used already")

    # An admin sends a reset from the member's page; the welcome link of a new member works.
    admin = browser.new_context().new_page()
    _sign_in(admin, live_url, "admin@demo.test", PASSWORD)
    admin.locator(".member", has_text="Sam Okafor").get_by_role("link", name="Edit").click()
    admin.get_by_role("button", name="Send a password reset").click()
    expect(admin.get_by_role("status")).to_contain_text("went to sam@demo.test")
    _choose(page, _link(smtp, "sam@demo.test", 2), live_url, NEW)
    expect(page.get_by_role("status")).to_contain_text("Your password is set")
