"""Every page a signed-in admin sees, in Chromium at phone width (390 px): nothing is wider
than the screen. And the e-mail templates' live preview, typed into. Saves screenshots under
docs/screenshots/ (the -390 ones at phone width)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support import SmtpServer
from tests.web.test_browser import _shot
from tests.web.test_zoom_browser import _sign_in
from tests.zoom_env import ZoomEnv, csrf, zoom_env

pytestmark = pytest.mark.browser
PHONE = 390


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        web = e.signed_in("owner@acme.test")
        e.connect(web, "sam@zoom-sandbox.test")
        _fill(e, web)
        yield e


def _fill(env: ZoomEnv, web: httpx.Client) -> None:
    """A project, a meeting with a long title and invitees in it, and a cancelled one."""
    token = csrf(web.get("/projects").text)
    r = web.post("/projects", data={"csrf_token": token, "name": "Client onboarding"})
    project = r.headers["location"].rsplit("/", 1)[1]
    web.post(  # a change, for the audit log's before → after
        f"/projects/{project}",
        data={"csrf_token": token, "name": "Client onboarding 2027", "description": "New clients"},
    )
    day = (dt.date.today() + dt.timedelta(days=9)).isoformat()
    for title in ("Quarterly business review with the extended leadership team", "Dropped"):
        r = web.post(
            "/meetings/new",
            data={
                "csrf_token": token,
                "title": title,
                "date": day,
                "time": "15:30",
                "timezone": "America/Los_Angeles",
                "duration": "45",
                "project_id": project,
                "invitees": "first.person@example.test, second.person.with.long.name@example.test",
            },
        )
        assert r.status_code == 303, r.text
    web.post(f"{r.headers['location']}/cancel", data={"csrf_token": token})


def _pages(page: Page, env: ZoomEnv) -> list[tuple[str, str]]:
    """(screenshot name, path) of every page in the admin's navigation, and their children."""
    page.goto(f"{env.product}/meetings")
    meeting = page.locator("table.meetings a").first.get_attribute("href")
    page.goto(f"{env.product}/projects")
    project = page.locator("ul.cards a").first.get_attribute("href")
    page.goto(f"{env.product}/team")
    member = page.get_by_role("link", name="Edit").first.get_attribute("href")
    return [
        ("meetings", "/meetings"),
        ("meetings-cancelled", "/meetings?when=cancelled"),
        ("meeting-new", "/meetings/new"),
        ("meeting-detail", str(meeting)),
        ("troubleshooting", "/troubleshooting"),
        ("projects", "/projects"),
        ("project-detail", str(project)),
        ("team", "/team"),
        ("member-new", "/team/new"),
        ("member-edit", str(member)),
        ("booking-types", "/booking/types"),
        ("booking-type-new", "/booking/types/new"),
        ("booking-availability", "/booking/availability"),
        ("booking-bookings", "/booking/bookings"),
        ("integrations-zoom", "/integrations/zoom"),
        ("api-tokens", "/settings/tokens"),
        ("password", "/settings/password"),
        ("email-templates", "/settings/templates"),
        ("audit-log", "/audit"),
    ]


def test_every_page_fits_a_phone(browser: Browser, env: ZoomEnv, database_url: str) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 844}, device_scale_factor=1)
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    too_wide = {}
    for name, path in _pages(page, env):
        page.goto(f"{env.product}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            too_wide[path] = width
        if not name.startswith("booking"):  # the booking walk-through takes its own
            _shot(page, f"{name}-390", database_url)
    assert too_wide == {}, too_wide
    wide = browser.new_context(viewport={"width": 1200, "height": 900})
    desk = wide.new_page()
    _sign_in(desk, env, "owner@acme.test")
    for name, path in _pages(desk, env):
        if name in (
            "projects",
            "project-detail",
            "meetings-cancelled",
            "troubleshooting",
            "audit-log",
            "meetings",
        ):
            desk.goto(f"{env.product}{path}")
            _shot(desk, name, database_url)
    wide.close()
    page.goto(f"{env.product}/favicon.ico")  # browsers ask for it whatever the page links
    assert page.url.endswith("/static/favicon.svg")
    context.close()


def test_the_template_preview_follows_the_typing(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(f"{env.product}/settings/templates")
    invite = page.locator("#tpl-invite")
    preview = invite.locator(".preview")
    expect(preview).to_contain_text("Kick-off")  # the shipped wording with sample data
    invite.get_by_label("Subject").fill("Join us: {{ title }} at {{ when }}")
    expect(preview).to_contain_text("Join us: Kick-off at Monday 01 March 2027, 09:30")
    invite.get_by_label("Text").fill("{{ passcode|length }}")
    expect(preview.get_by_role("alert")).to_have_count(0)  # fine with the sample's passcode
    invite.get_by_role("button", name="Save").click()
    expect(page.locator("#tpl-invite").get_by_role("alert")).to_contain_text(
        "does not render for a meeting without a passcode"
    )
    invite = page.locator("#tpl-invite")
    invite.get_by_label("Text").fill("{{ title }} — {{ nope }}")
    expect(invite.locator(".preview").get_by_role("alert")).to_contain_text("nope")
    invite.get_by_label("Text").fill("Hello from {{ host }}: {{ join_url }}")
    expect(invite.locator(".preview")).to_contain_text("Hello from Grace: https://zoom.us/j/")
    invite.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("The invite e-mail is saved.")
    _shot(page, "email-templates", database_url)
    page.locator("#tpl-invite").get_by_role("button", name="Reset to default").click()
    expect(page.get_by_role("status")).to_contain_text("back to meetbridge's own wording")
    expect(
        page.locator("#tpl-invite").get_by_role("button", name="Reset to default")
    ).to_be_disabled()
    context.close()
