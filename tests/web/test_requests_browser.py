"""Service requests clicked through in Chromium against the Zoom sandbox (issue 18's "Done
when", as far as the pages go): an admin connects the Zoom account (Test Zoom passes) and
saves the host pool, seeing the Basic host's warning by name; a scheduler creates a request
and converts it (the meeting is on a pool host at the sandbox), a conflicting one goes to
the other host, and with every host busy the error names the window; the host link is
offered only inside its window and opens the meeting at Zoom; the report shows the Type
column and the scheduling views the Zoom icon. Screenshots: docs/screenshots/requests-*.png."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.requests.inputs import Participant, RequestInput, SettingsInput
from tests.conftest import ORIGIN, PASSWORD
from tests.support import SmtpServer
from tests.web.test_browser import SHOTS
from tests.web.test_zoom_browser import _sign_in
from tests.zoom_env import ZoomEnv, zoom_env

pytestmark = pytest.mark.browser
ACCOUNT = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")
POOL = ("dana@zoom-sandbox.test", "sam@zoom-sandbox.test")
PHONE = 390


@pytest.fixture
def env(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Iterator[ZoomEnv]:
    with zoom_env(tmp_path, database_url, smtp) as e:
        e.c.accounts.create_member(
            e.user("owner@acme.test"),
            email="sid@acme.test",
            name="Sid Scheduler",
            role="scheduler",
            password=PASSWORD,
            origin=ORIGIN,
        )
        yield e


def _shot(page: Page, name: str, database_url: str, full: bool = True) -> None:
    if database_url.startswith("sqlite"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _at_zoom(env: ZoomEnv, email: str) -> list[dict[str, object]]:
    return list(env.control("GET", f"/meetings?host={email}"))


def _another(env: ZoomEnv, start: dt.datetime, client: str) -> str:
    data = RequestInput(
        client=client,
        service="Interpreting",
        start=start,
        end=start + dt.timedelta(hours=1),
        timezone="UTC",
        status="confirmed",
        participants=[Participant("provider", "bob@acme.test")],
    )
    return env.c.requests.create(env.user("sid@acme.test"), data, ORIGIN).id


def _convert(page: Page) -> None:
    page.get_by_role("button", name="Convert to Zoom meeting").click()


def test_admin_sets_the_pool_and_a_scheduler_converts_requests(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "owner@acme.test")
    page.get_by_text("Settings", exact=True).click()
    page.get_by_role("link", name="Integrations → Zoom").click()
    account = page.locator("#account-zoom")
    account.get_by_label("Account ID").fill(ACCOUNT[0])
    account.get_by_label("Client ID").fill(ACCOUNT[1])
    account.get_by_label("Client Secret").fill(ACCOUNT[2])
    account.get_by_role("button", name="Test Zoom").click()
    expect(page.get_by_role("status")).to_contain_text("The Zoom account is saved")

    section = page.locator("#requests-zoom")
    section.get_by_label("Host link minutes before start").fill("60")
    section.get_by_label("Padding minutes after end").fill("30")
    section.get_by_label("Host pool").fill("\n".join([*POOL, "basil@zoom-sandbox.test"]))
    section.get_by_label("Schedulers and admins").check()
    section.get_by_role("button", name="Save Zoom settings for requests").click()
    expect(page.get_by_role("status")).to_contain_text("3 host(s) in the pool, 1 with a warning")
    warning = page.locator("#pool-warnings li")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("basil@zoom-sandbox.test")
    expect(warning).to_contain_text("40 minutes")
    expect(section).to_contain_text("name your pool users generically")
    if database_url.startswith("sqlite"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        section.screenshot(path=str(SHOTS / "requests-zoom-settings.png"))
    context.close()

    # The scheduler: a new request starting in 30 minutes (the host link opens 60 before).
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    _sign_in(page, env, "sid@acme.test")
    page.get_by_role("link", name="Requests").first.click()
    expect(page).to_have_url(f"{env.product}/requests")
    page.get_by_role("link", name="New request").click()
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    end = start + dt.timedelta(hours=1)
    page.get_by_label("Client", exact=True).fill("Mercy Hospital")
    page.get_by_label("Requester").fill("Dr. Reyes")
    page.get_by_label("Service").fill("Spanish interpreting")
    page.get_by_label("Start date").fill(start.date().isoformat())
    page.get_by_label("Start time").fill(start.strftime("%H:%M"))
    page.get_by_label("End date").fill(end.date().isoformat())
    page.get_by_label("End time").fill(end.strftime("%H:%M"))
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_label("Location").fill("Ward 4")
    page.get_by_label("Tags").fill("medical, Spanish")
    page.get_by_label("Providers").fill("ann@acme.test")
    page.get_by_label("Client contacts").fill("contact@mercy.test")
    page.get_by_label("Status").select_option("confirmed")
    _shot(page, "requests-new", database_url)
    # Bad input first: every field error at once, what was typed kept.
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_label("Providers").fill("ann@acme.test\nnot-an-email")
    page.get_by_label("Tags").fill("medical, <b>")
    page.get_by_role("button", name="Create request").click()
    errors = page.locator(".field-error")
    expect(errors).to_have_count(3)
    expect(page.locator("label", has_text="Time zone")).to_contain_text("unknown time zone")
    expect(page.locator("label", has_text="Providers")).to_contain_text("not-an-email")
    expect(page.locator("label", has_text="Tags")).to_contain_text("letters, digits")
    expect(page.get_by_label("Client", exact=True)).to_have_value("Mercy Hospital")
    _shot(page, "requests-new-errors", database_url)
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_label("Providers").fill("ann@acme.test")
    page.get_by_label("Tags").fill("medical, Spanish")
    page.get_by_role("button", name="Create request").click()
    expect(page.get_by_role("status")).to_contain_text("Request for Mercy Hospital created.")
    first = page.url.rsplit("/", 1)[1]

    _convert(page)
    expect(page.get_by_role("status")).to_contain_text("Converted to a Zoom meeting on")
    row = env.c.requests.get(env.user("sid@acme.test"), first)
    assert row.kind == "zoom" and row.zoom_host_email in POOL
    [meeting] = _at_zoom(env, str(row.zoom_host_email))
    assert meeting["topic"] == "Spanish interpreting — Mercy Hospital"
    join = page.locator("input.join-url")
    expect(join).to_have_value(str(meeting["join_url"]))
    expect(page.locator("#request-facts")).not_to_contain_text("Ward 4")  # the link instead
    expect(page.locator("#request-facts .type")).to_contain_text("Zoom meeting")
    expect(page.locator("#host-link")).to_contain_text("Join before host is off for requests")
    _shot(page, "requests-detail", database_url)

    # A conflicting one goes to the other host; with every host busy the error names the window.
    second = _another(env, start + dt.timedelta(minutes=15), "Lakeside School")
    page.goto(f"{env.product}/requests/{second}")
    _convert(page)
    expect(page.get_by_role("status")).to_contain_text("Converted to a Zoom meeting on")
    other = env.c.requests.get(env.user("sid@acme.test"), second).zoom_host_email
    assert other in POOL and other != row.zoom_host_email
    assert len(_at_zoom(env, str(other))) == 1
    # The Basic host is never chosen, and the page says it was skipped.
    expect(page.locator("#choice-note")).to_contain_text("basil@zoom-sandbox.test: not an active")

    third = _another(env, start - dt.timedelta(minutes=20), "Hillside Clinic")
    page.goto(f"{env.product}/requests/{third}")
    _convert(page)
    window = (start - dt.timedelta(minutes=80)).strftime("%Y-%m-%d %H:%M UTC")
    error = page.locator("#action-error")
    expect(error).to_contain_text(f"Not converted: no host of the pool is free from {window}")
    for host in POOL:
        expect(error).to_contain_text(host)
    expect(page.locator("#request-facts .type")).to_contain_text("Regular")
    _shot(page, "requests-no-free-host", database_url, full=False)

    # The host link: offered inside its window, fetched fresh, opening the meeting at Zoom.
    page.goto(f"{env.product}/requests/{first}")
    expect(page.locator("#host-link")).to_contain_text("The host link is open")
    page.get_by_role("button", name="Get Zoom Host Link").click()
    expect(page).to_have_url(re.compile(re.escape(f"{env.zoom}/s/{meeting['id']}?zak=")))
    expect(page.locator("body")).to_contain_text("Spanish interpreting")

    # In two days: not offered yet, and the page says when it opens.
    later = _another(env, start + dt.timedelta(days=2), "Riverside Court")
    env.c.requests.convert_to_zoom(env.user("sid@acme.test"), later, ORIGIN)
    page.goto(f"{env.product}/requests/{later}")
    opens = (start + dt.timedelta(days=2, minutes=-60)).strftime("%H:%M")
    expect(page.locator("#host-link-opens")).to_contain_text(opens)
    expect(page.get_by_role("button", name="Get Zoom Host Link")).to_have_count(0)

    # The report: the Type column, filtered to Zoom meetings.
    page.goto(f"{env.product}/requests")
    expect(page.locator("tr[data-request-id]")).to_have_count(4)
    page.get_by_label("Type").select_option("zoom")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-request-id]")).to_have_count(3)
    expect(page.locator(f'tr[data-request-id="{first}"] td.type')).to_have_text("Zoom meeting")
    icon = page.locator(f'tr[data-request-id="{first}"] svg[data-icon="zoom"]')
    expect(icon).to_be_visible()
    expect(page.locator("#csv-link")).to_have_attribute("href", "/requests.csv?type=zoom")
    page.get_by_label("Type").select_option("")
    page.get_by_role("button", name="Filter").click()
    _shot(page, "requests-list", database_url)

    # The scheduling views: by provider, a Zoom icon on the Zoom meetings' boxes.
    page.goto(f"{env.product}/requests/schedule?view=day&date={start.date().isoformat()}")
    lanes = page.locator("tr.lane")
    expect(lanes).to_have_count(2)
    expect(lanes.nth(0).locator("th")).to_have_text("Ann")
    box = page.locator(f'a.request-box[data-request-id="{first}"]')
    expect(box.locator('svg[aria-label="Zoom meeting"]')).to_be_visible()
    plain = page.locator(f'a.request-box[data-request-id="{third}"]')
    expect(plain.locator("svg")).to_have_count(0)
    _shot(page, "requests-schedule-day", database_url)
    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.locator("a.request-box")).to_have_count(
        3 if (start + dt.timedelta(days=2)).isocalendar()[1] != start.isocalendar()[1] else 4
    )
    _shot(page, "requests-schedule-week", database_url)

    # Back to regular: the meeting is deleted in Zoom.
    page.goto(f"{env.product}/requests/{second}")
    page.get_by_role("button", name="Convert to regular request").click()
    expect(page.get_by_role("status")).to_contain_text("its Zoom meeting is deleted in Zoom")
    left = [m["topic"] for m in _at_zoom(env, str(other))]
    assert "Interpreting — Lakeside School" not in left  # (the host may hold another one)
    context.close()

    # Every request page fits a phone: wide tables scroll inside their own box.
    phone = browser.new_context(viewport={"width": PHONE, "height": 844})
    page = phone.new_page()
    _sign_in(page, env, "owner@acme.test")
    too_wide = {}
    for name, path in (
        ("requests-list", "/requests"),
        ("requests-new", "/requests/new"),
        ("requests-detail", f"/requests/{first}"),
        ("requests-schedule-day", f"/requests/schedule?view=day&date={start.date()}"),
        ("requests-schedule-week", f"/requests/schedule?view=week&date={start.date()}"),
        ("integrations-zoom", "/integrations/zoom"),
    ):
        page.goto(f"{env.product}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE:
            too_wide[path] = width
        if name.startswith("requests"):
            _shot(page, f"{name}-390", database_url, full=False)
    assert too_wide == {}, too_wide
    phone.close()


def test_a_weekly_series_becomes_zoom_meetings_with_clone_zoom_settings(
    browser: Browser, env: ZoomEnv, database_url: str
) -> None:
    """A scheduler makes a weekly series on the new-request page, opens it from one of its
    occurrences, updates it with Clone Zoom Settings: Yes, and follows the job's page to the
    end: every occurrence is then a Zoom meeting of its own at the sandbox."""
    owner = env.user("owner@acme.test")
    env.c.connections.save_account(owner, *ACCOUNT, ORIGIN)
    env.c.requests.save_settings(owner, SettingsInput(15, 15, "\n".join(POOL)), ORIGIN)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    _sign_in(page, env, "sid@acme.test")
    page.goto(f"{env.product}/requests/new")
    today = dt.datetime.now(dt.UTC).date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    page.get_by_label("Client", exact=True).fill("Weekly Tutoring")
    page.get_by_label("Service").fill("Maths tutoring")
    page.get_by_label("Start date").fill(monday.isoformat())
    page.get_by_label("Start time").fill("16:00")
    page.get_by_label("End time").fill("17:00")
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_label("Status").select_option("confirmed")
    repeats = page.locator("#repeats")
    repeats.get_by_label("Frequency").select_option("weekly")
    repeats.get_by_label("Tue").check()
    repeats.get_by_label("Thu").check()
    repeats.get_by_label("After a number of times").check()
    repeats.get_by_role("textbox", name="Times").fill("10000")
    page.get_by_role("button", name="Create request").click()
    expect(repeats.locator(".field-error")).to_have_text(
        "must be a whole number from 1 to 500, not 10000"
    )
    if database_url.startswith("sqlite"):
        repeats.screenshot(path=str(SHOTS / "requests-series-new-errors.png"))
    repeats.get_by_role("textbox", name="Times").fill("6")
    page.get_by_role("button", name="Create request").click()
    expect(page.get_by_role("status")).to_contain_text("6 occurrences")
    expect(page.locator("#occurrences tbody tr")).to_have_count(6)
    series_url = page.url

    # From an occurrence's page back to its series.
    page.locator("#occurrences tbody tr").nth(3).get_by_role("link").click()
    page.get_by_role("link", name="Part of a series: 6 occurrences").click()
    expect(page).to_have_url(series_url)
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Update recurring requests").click()
    expect(page).to_have_url(re.compile(r"/requests/series-jobs/"))
    expect(page.locator("#job-state")).to_contain_text("Finished", timeout=30_000)
    expect(page.get_by_label("Occurrences looked at: 6 of 6")).to_have_attribute("value", "6")
    expect(page.locator("#job-placed")).to_have_text("6 Zoom meetings")
    expect(page.locator("#job-not-placed")).to_have_text("0")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    _shot(page, "requests-series-job", database_url)

    page.get_by_role("link", name="Back to the series").click()
    expect(page.locator('#occurrences tr[data-kind="zoom"] svg[data-icon="zoom"]')).to_have_count(6)
    expect(page.locator("#series-job")).to_contain_text("Last update: 6 of 6 placed on Zoom.")
    _shot(page, "requests-series", database_url)
    sid = page.url.rsplit("/", 1)[1]
    rows = env.c.request_series.occurrences(env.user("sid@acme.test"), sid)
    topic = "Maths tutoring — Weekly Tutoring"
    deadline = time.monotonic() + 20
    while len(ours := [m for h in POOL for m in _at_zoom(env, h) if m["topic"] == topic]) < 6:
        assert time.monotonic() < deadline, ours
        time.sleep(0.2)
    assert sorted(str(m["start_time"])[:16] for m in ours) == [
        r.start_at.strftime("%Y-%m-%dT%H:%M") for r in rows
    ]
    assert len(ours) == 6 and {r.kind for r in rows} == {"zoom"}
    job_url = page.get_by_role("link", name="See the update").get_attribute("href")
    context.close()

    # Both pages fit a phone.
    phone = browser.new_context(viewport={"width": PHONE, "height": 844})
    page = phone.new_page()
    _sign_in(page, env, "sid@acme.test")
    for path in (f"/requests/series/{sid}", str(job_url), "/requests/new"):
        page.goto(f"{env.product}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, path
    phone.close()
