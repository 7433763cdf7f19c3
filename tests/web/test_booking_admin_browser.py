"""The booking pages clicked through in Chromium against the Zoom sandbox: an admin creates a
meeting type for a member without Zoom, sees publishing refused with the reason, assigns
themselves (Zoom connected), publishes, and copies the embed snippet; every booking page fits
a phone. Screenshots: docs/screenshots/booking-*.png."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.booking.inputs import BookingInput, MeetingTypeInput, TypeMember
from tests.conftest import ORIGIN
from tests.support import SmtpServer
from tests.web.test_browser import SHOTS
from tests.web.test_zoom_browser import _sign_in
from tests.zoom_env import ZoomEnv, zoom_env

pytestmark = pytest.mark.browser
PHONE = 390


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        e.connect(e.signed_in("owner@acme.test"), "sam@zoom-sandbox.test")
        yield e


def _shot(page: Page, name: str, database_url: str) -> None:
    """The visible part only: small pictures for the docs."""
    if database_url.startswith("sqlite"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_admin_creates_publishes_and_copies_the_snippet(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=env.product)
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.get_by_role("link", name="Booking").first.click()
    expect(page).to_have_url(f"{env.product}/booking/types")
    page.get_by_role("link", name="New meeting type").click()

    page.get_by_label("Name", exact=True).fill("Discovery call")
    page.get_by_label("Slug").fill("discovery")
    page.get_by_label("Duration (minutes)").fill("30")
    page.get_by_label("Assignment").select_option("round_robin")
    page.get_by_label("Olive Owner").uncheck()
    page.get_by_label("Ann").check()
    page.get_by_label("Reminders").fill("1440, 60")
    page.get_by_label("Buffer after (minutes)").fill("10")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "booking-type-form", database_url)
    page.get_by_role("button", name="Create meeting type").click()
    expect(page.get_by_role("status")).to_contain_text("Meeting type Discovery call created.")
    expect(page.locator(".zoom-of-members")).to_contain_text("Ann No Zoom")

    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#publish-error")).to_contain_text(
        "no assigned member has a working Zoom and no fallback location is set"
    )
    expect(page.locator("#published-state")).to_have_text("Not published")

    page.get_by_label("Olive Owner").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    expect(page.locator(".zoom-of-members")).to_contain_text("Zoom connected")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_contain_text("is published")
    expect(page.locator("#published-state")).to_have_text("Published")

    snippet = page.locator("#snippet-popup").input_value()
    assert snippet == (
        f'<script src="{env.product}/static/embed.js" '
        f'data-meetbridge-book="{env.product}/book/acme/discovery" data-mode="popup"></script>'
    )
    popup = page.locator(".snippet").filter(has=page.locator("#snippet-popup"))
    popup.get_by_role("button", name="Copy").click()
    expect(popup.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    page.locator("#snippet-inline").click()  # selectable without the script too
    selected = page.evaluate(
        "(() => { const t = document.querySelector('#snippet-inline');"
        " return t.value.substring(t.selectionStart, t.selectionEnd); })()"
    )
    assert 'data-mode="inline"' in selected
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "booking-type", database_url)

    page.get_by_role("link", name="Meeting types").click()
    row = page.locator("table.types tr", has_text="Discovery call")
    expect(row).to_contain_text("published")
    expect(row).to_contain_text("Round-robin")
    expect(row).to_contain_text(f"{env.product}/book/acme/discovery")

    page.goto(f"{env.product}/team")  # Ann has no Zoom: her card says what it affects
    ann = page.locator("li.member", has_text="ann@acme.test")
    expect(ann.locator(".booking-health")).to_contain_text("No Zoom — affects Discovery call")
    owner = page.locator("li.member", has_text="owner@acme.test")
    expect(owner.locator(".booking-health")).to_contain_text("Zoom connected")
    context.close()


def _long_rows(env: ZoomEnv) -> None:
    """A booking and a failing calendar with long values, for the widths to be tried on."""
    c = env.c
    owner = env.user("owner@acme.test")
    data = MeetingTypeInput(
        name="Onboarding session for new enterprise customers",
        slug="onboarding",
        duration=30,
        members=[TypeMember(owner.id)],
        fallback="in_person",
        fallback_value="Building 7, Floor 3, Room 301-B, Long Street Industrial Park, Springfield",
    )
    view = c.meeting_types.create(owner, data, ORIGIN)
    c.meeting_types.publish(owner, view.type.id, True, ORIGIN)
    b = c.bookings.bookable("acme", "onboarding")
    now = c.clock.now()
    slot = c.bookings.slots(b, now + dt.timedelta(days=1), now + dt.timedelta(days=9))[0]
    c.bookings.book(
        "acme",
        "onboarding",
        BookingInput(
            start=slot.start.isoformat(),
            name="Bartholomew Longname-Smithson",
            email="bartholomew.longname-smithson@a-very-long-company-domain.example.test",
            timezone="UTC",
        ),
        ORIGIN,
    )
    c.availability.add_calendar(
        owner,
        owner.id,
        "feed",
        "http://127.0.0.1:9/calendars/" + "x" * 80 + "/busy.ics",
        ORIGIN,
    )


def test_the_booking_pages_fit_a_phone(browser: Browser, env: ZoomEnv, database_url: str) -> None:
    context = browser.new_context(viewport={"width": PHONE, "height": 844})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(f"{env.product}/booking/types/new")
    page.get_by_label("Name", exact=True).fill("A meeting type with a rather long name indeed")
    page.get_by_label("Slug").fill("a-rather-long-slug-for-a-booking-link-on-a-phone")
    page.get_by_label("Duration (minutes)").fill("45")
    page.get_by_role("button", name="Create meeting type").click()
    expect(page.get_by_role("status")).to_contain_text("created")
    detail = page.url.removeprefix(env.product)
    _long_rows(env)
    too_wide = {}
    for path in (
        "/booking/types",
        "/booking/types/new",
        detail,
        "/booking/availability",
        "/booking/bookings",
        "/team",
    ):
        page.goto(f"{env.product}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            too_wide[path] = width
    assert too_wide == {}, too_wide
    page.goto(f"{env.product}/booking/availability")
    expect(page.locator(".cal-error")).not_to_be_empty()
    page.locator("table.calendars").scroll_into_view_if_needed()
    _shot(page, "booking-availability-390", database_url)
    page.goto(f"{env.product}/booking/bookings")
    expect(page.locator("table.bookings")).to_contain_text("Bartholomew")
    page.locator("table.bookings").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/bookings-390.png")  # looked at, not kept
    page.set_viewport_size({"width": 1100, "height": 800})
    page.screenshot(path="/tmp/bookings-1100.png")
    context.close()


def test_the_bookings_list_shows_what_needs_attention(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    """Two bookings on the owner's Zoom; one's meeting is moved at Zoom to 21:00 UTC, outside
    the owner's hours: that one shows "Needs attention" with the reason, and the filter finds
    it alone."""
    c = env.c
    owner = env.user("owner@acme.test")
    view = c.meeting_types.create(
        owner,
        MeetingTypeInput(
            name="Intro call", slug="intro", duration=30, members=[TypeMember(owner.id)]
        ),
        ORIGIN,
    )
    c.meeting_types.publish(owner, view.type.id, True, ORIGIN)
    b = c.bookings.bookable("acme", "intro")
    now = c.clock.now()
    offered = c.bookings.slots(b, now + dt.timedelta(days=1), now + dt.timedelta(days=9))
    made = []
    for slot, name in ((offered[0], "Quinn Quiet"), (offered[3], "Mo Moved")):
        data = BookingInput(
            start=slot.start.isoformat(), name=name, email="x@example.test", timezone="UTC"
        )
        made.append(c.bookings.book("acme", "intro", data, ORIGIN))
    moved = made[1]
    meeting = c.meetings.get(owner, moved.meeting_id or "")
    late = dt.datetime.combine(moved.start_at.date(), dt.time(21), dt.UTC)
    env.control(
        "PATCH",
        f"/meetings/{meeting.zoom_meeting_id}",
        json={"start_time": late.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    env.control("POST", "/webhooks/flush")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.goto(f"{env.product}/booking/bookings")
    row = page.locator("tr", has_text="Mo Moved")
    expect(row.locator(".attention")).to_contain_text("Needs attention", timeout=15000)
    expect(row.locator(".attention")).to_contain_text("outside Olive Owner's hours")
    expect(page.locator("tr", has_text="Quinn Quiet").locator(".attention")).to_have_count(0)
    _shot(page, "booking-attention", database_url)
    page.get_by_label("Attention").select_option(label="Needs attention")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.bookings tbody tr")).to_have_count(1)
    expect(page.locator("table.bookings")).to_contain_text("Mo Moved")
    # The owner accepts the late time: once marked seen, it is no longer flagged.
    page.get_by_role("button", name="Mark as seen").click()
    expect(page.get_by_role("status")).to_contain_text("marked as seen")
    expect(page.locator("table.bookings")).to_contain_text("No bookings match these filters")
    page.goto(f"{env.product}/booking/bookings")
    expect(page.locator("table.bookings tbody tr")).to_have_count(2)
    expect(page.locator(".attention")).to_have_count(0)
    context.close()
