"""Zoom Demand in Chromium: a scheduler opens Reports → Zoom Demand, chooses a period, reads
the answer and the drawn peak above the pool line, and downloads the chart as .svg; the page
works with JavaScript turned off. Screenshots: docs/screenshots/zoom-demand*.png."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from meetbridge.app import create_app
from meetbridge.container import Container
from tests.conftest import ORIGIN, PASSWORD, Org
from tests.reports.support import set_org_zone, set_pool, zoom_request
from tests.support import LiveServer
from tests.web.test_browser import SHOTS

pytestmark = pytest.mark.browser
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def berlin(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2027, 6, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def live_url(container: Container, acme: Org) -> Iterator[str]:
    org_id = acme.owner.org_id
    set_org_zone(container, org_id, "Europe/Berlin")
    set_pool(container, org_id, ["a@zoom.test", "b@zoom.test", "c@zoom.test"])
    # A working week: two or three meetings most days, five at once on Wednesday morning.
    for day in (7, 8, 9, 10, 11):
        zoom_request(container, org_id, berlin(day, 9), berlin(day, 10))
        zoom_request(container, org_id, berlin(day, 9, 30), berlin(day, 10, 30))
        if day % 2:
            zoom_request(container, org_id, berlin(day, 14), berlin(day, 15))
    for k in range(3):
        zoom_request(container, org_id, berlin(9, 9, 15 + 5 * k), berlin(9, 11))
    container.accounts.create_member(
        acme.owner,
        email="sam@acme.test",
        name="Sam Scheduler",
        role="scheduler",
        password=PASSWORD,
        origin=ORIGIN,
    )
    with LiveServer(create_app(container)) as server:
        yield server.url


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/signin")
    page.get_by_label("E-mail").fill("sam@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/team")


def _shot(page: Page, name: str, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_a_scheduler_reads_the_demand_and_downloads_the_chart(
    browser: Browser, live_url: str, database_url: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    _sign_in(page, live_url)
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name="Zoom Demand").click()
    page.get_by_label("From").fill("2027-06-07")
    page.get_by_label("To (included)").fill("2027-06-11")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        f"{live_url}/reports/zoom-demand?from=2027-06-07&to=2027-06-11&bucket="
    )
    expect(page.locator(".verdict")).to_contain_text(
        "Peak: 5 concurrent Zoom meetings against a pool of 3 hosts. You need at least 5 hosts"
    )
    chart = page.get_by_role(
        "img", name="Zoom Demand, 7 Jun 2027 \u2013 11 Jun 2027 (Europe/Berlin), by hour"
    )
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 900 and box["height"] > 300
    # The peak is drawn: the tallest bar is Wednesday 09:00 and it stands above the pool line.
    tallest = page.locator("svg .bars rect title", has_text="peak 5")
    expect(tallest).to_have_count(2)
    expect(tallest.first).to_have_text(
        "Wed 9 Jun 2027 09:00: peak 5 concurrent (above the pool of 3)"
    )
    bar = page.locator("svg .bars rect").filter(has=page.locator("title", has_text="peak 5")).first
    line = page.locator("svg line.capacity")
    bar_box, line_box = bar.bounding_box(), line.bounding_box()
    assert bar_box and line_box and bar_box["y"] < line_box["y"] < bar_box["y"] + bar_box["height"]
    page.locator("figure").scroll_into_view_if_needed()
    _shot(page, "zoom-demand", database_url)

    with page.expect_download() as got:
        page.get_by_role("link", name="Download chart (.svg)").click()
    download = got.value
    assert download.suggested_filename == "zoom-demand-2027-06-07-to-2027-06-11.svg"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = saved.read_text()
    assert text.startswith("<?xml") and "Pool: 3 hosts" in text

    # Opened on its own, the file is an image Chromium draws.
    page.goto(saved.as_uri())
    expect(page.locator("svg")).to_be_visible()
    context.close()


def test_the_page_works_without_javascript(
    browser: Browser, live_url: str, database_url: str
) -> None:
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    _sign_in(page, live_url)
    page.goto(f"{live_url}/reports/zoom-demand?from=2027-06-09&to=2027-06-09")
    expect(page.locator(".verdict")).to_contain_text("You need at least 5 hosts")
    expect(
        page.get_by_role("img", name="Zoom Demand, 9 Jun 2027 (Europe/Berlin), by hour")
    ).to_be_visible()
    expect(page.get_by_role("row", name="Wed 9 Jun 2027 09:00 5 yes 50")).to_be_visible()
    page.get_by_label("To (included)").fill("2027-06-01")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#to-error")).to_have_text("is before from (2027-06-09)")
    context.close()
