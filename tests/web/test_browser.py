"""The pages in real Chromium (Debian's package, driven by Playwright): sign in, create a
member, the member signs in. Saves a screenshot of each page under docs/screenshots/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.accounts.demo import ensure_demo
from meetbridge.app import create_app
from meetbridge.container import Container
from tests.conftest import PASSWORD
from tests.support import LiveServer, SmtpServer

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FIRST_DAY = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=14)


@pytest.fixture
def live_url(container: Container) -> Iterator[str]:
    with LiveServer(create_app(container)) as server:
        yield server.url


def _shot(page: Page, name: str, database_url: str) -> None:
    if database_url.startswith("sqlite"):  # one set of pictures is enough
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/team")


def test_admin_creates_a_member_who_signs_in(
    browser: Browser, live_url: str, container: Container, smtp: SmtpServer, database_url: str
) -> None:
    ensure_demo(container.orgs, container.accounts, PASSWORD)
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.goto(f"{live_url}/signin")
    _shot(page, "signin", database_url)
    page.get_by_label("E-mail").fill("admin@demo.test")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong e-mail or password")

    _sign_in(page, live_url, "admin@demo.test", PASSWORD)
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    expect(page.locator(".member")).to_have_count(3)
    _shot(page, "team", database_url)

    page.get_by_role("link", name="Add member").click()
    page.get_by_label("Name").fill("Priya Nair")
    page.get_by_label("E-mail").fill("priya@demo.test")
    page.locator("select[name=role]").select_option("member")
    page.get_by_label("Start date").fill(FIRST_DAY.isoformat())
    page.get_by_label("First password").fill("short")
    _shot(page, "member-new", database_url)
    page.get_by_role("button", name="Create login").click()
    # The browser's own check stops a too-short password before it is sent.
    expect(page).to_have_url(f"{live_url}/team/new")
    page.get_by_label("First password").fill(PASSWORD)
    page.get_by_role("button", name="Create login").click()
    expect(page.get_by_role("status")).to_contain_text("Priya Nair can now sign in")
    expect(page.locator(".member")).to_have_count(4)
    expect(page.locator(".member", has_text="Priya Nair")).to_contain_text(
        f"Starts {FIRST_DAY.isoformat()}"
    )
    assert smtp.inbox.wait_for("priya@demo.test")

    page.locator(".member", has_text="Priya Nair").get_by_role("link", name="Edit").click()
    _shot(page, "member-edit", database_url)
    page.get_by_role("link", name="Cancel").click()

    page.goto(f"{live_url}/settings/tokens")
    page.get_by_label("Name").fill("reporting script")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_contain_text("mbp_")
    _shot(page, "api-tokens", database_url)

    page.goto(f"{live_url}/audit")
    expect(page.locator("table.audit")).to_contain_text("member.created")
    # (its screenshot is taken by test_narrow_browser, where the log holds changes)
    context.close()

    member = browser.new_context(viewport={"width": 1200, "height": 800})
    mpage = member.new_page()
    _sign_in(mpage, live_url, "priya@demo.test", PASSWORD)
    expect(mpage.locator(".member", has_text="Priya Nair")).to_contain_text("(you)")
    expect(mpage.get_by_role("link", name="Add member")).to_have_count(0)
    mpage.get_by_role("button", name="Sign out").click()
    expect(mpage).to_have_url(f"{live_url}/signin")
    member.close()


def test_deactivate_asks_first_and_signs_the_member_out(
    browser: Browser, live_url: str, container: Container
) -> None:
    ensure_demo(container.orgs, container.accounts, PASSWORD)
    maria = browser.new_context()
    mpage = maria.new_page()
    _sign_in(mpage, live_url, "maria@demo.test", PASSWORD)

    admin = browser.new_context()
    page = admin.new_page()
    _sign_in(page, live_url, "admin@demo.test", PASSWORD)
    page.locator(".member", has_text="Maria Lopez").get_by_role("link", name="Edit").click()
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name="Deactivate login").click()
    expect(page.get_by_role("heading", name="Edit Maria Lopez")).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Deactivate login").click()
    expect(page.get_by_role("status")).to_contain_text("Maria Lopez is deactivated")
    expect(page.locator(".member", has_text="Maria Lopez")).to_have_count(0)

    mpage.reload()
    expect(mpage).to_have_url(f"{live_url}/signin")
    maria.close()
    admin.close()
